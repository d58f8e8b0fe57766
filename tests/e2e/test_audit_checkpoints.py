"""`yibao audit checkpoint` and `yibao audit verify` as an operator and an auditor run them: a checkpoint signed
with a key kept outside the database, its copy shipped to the auditor, and edits made in the database named."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_tamper_evidence import one, tamper
from tests.support import PIN, build_world, yibao
from yibao.services.accounts import contributions
from yibao.services.settlement import payments

KEY = "an-auditor-kept-key-of-32-bytes!"


@pytest.fixture
def paid(ctx, admin):
    """A person with two months credited and a settlement at the pharmacy."""
    world = build_world(ctx, admin)
    for month in ("2026-01", "2026-02"):
        contributions.credit(ctx, actor=admin, person_id=world.person.id, period=month, base_fen=1_000_000,
                             employer_id=world.employer_id)
    return payments.settle(ctx, actor=admin, idempotency_key="till-1", institution_code=world.institution_code,
                             credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                             items=[{"category": "drug", "amount_fen": 4_000}])


def test_without_a_key_a_checkpoint_is_refused_clearly(env, paid, tmp_path):
    run = yibao({**env, "YIBAO_CHECKPOINT_FILE": str(tmp_path / "cp.jsonl")}, "audit", "checkpoint")
    assert run.returncode == 1
    assert "audit.checkpoint_key_missing" in run.stderr and "YIBAO_CHECKPOINT_KEY_FILE" in run.stderr
    assert "未配置检查点签名密钥" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "cp.jsonl").exists()
    missing = yibao({**env, "YIBAO_CHECKPOINT_KEY_FILE": str(tmp_path / "nowhere.key")}, "audit", "checkpoint")
    assert missing.returncode == 1 and "cannot be read" in missing.stderr and "Traceback" not in missing.stderr


def test_an_auditor_checkpoints_keeps_the_copy_and_checks_it(ctx, env, backend, paid, tmp_path):
    key_file = tmp_path / "keys" / "checkpoint.key"
    key_file.parent.mkdir()
    key_file.write_text(KEY)
    server_file, copy = tmp_path / "var" / "checkpoints.jsonl", tmp_path / "auditor" / "checkpoints.jsonl"
    env = {**env, "YIBAO_CHECKPOINT_KEY_FILE": str(key_file), "YIBAO_CHECKPOINT_FILE": str(server_file)}

    first = yibao(env, "audit", "verify")
    assert first.returncode == 0, first.stderr
    assert "no checkpoint yet" in first.stdout and "ok" in first.stdout

    signed = yibao(env, "audit", "checkpoint", "--copy-to", str(copy))
    assert signed.returncode == 0, signed.stderr
    assert "checkpoint #1 signed" in signed.stdout and str(copy) in signed.stdout
    assert copy.read_text() == server_file.read_text()
    line = json.loads(server_file.read_text())
    assert line["n"] == 1 and line["counts"]["settlements"] == 1 and KEY not in server_file.read_text()
    assert line["heads"]["audit_records"][f"settlement {paid['settlement_id']}"][0] == 1

    checked = yibao(env, "audit", "verify")
    assert checked.returncode == 0, checked.stderr
    assert "ok" in checked.stdout and "against checkpoint #1" in checked.stdout and "signatures checked" in checked.stdout

    # An insider edits the split, and removes the newest audit record of the settlement's account owner's card.
    tamper(ctx, backend, ("UPDATE settlements SET account_paid_fen = account_paid_fen - 1000, cash_fen = cash_fen + "
                          "1000 WHERE id = :s", {"s": paid["settlement_id"]}))
    broken = yibao(env, "audit", "verify")
    assert broken.returncode == 1
    assert f"first broken row: settlements {paid['settlement_id']}" in broken.stderr and "首个异常" in broken.stderr
    refused = yibao(env, "audit", "checkpoint")
    assert refused.returncode == 1 and "audit.books_broken" in refused.stderr
    assert len(server_file.read_text().splitlines()) == 1  # nothing signed over the edit

    newest = one(ctx, "SELECT id, entity, entity_id, seq FROM audit_records WHERE entity = 'card' "
                      "ORDER BY id DESC LIMIT 1")
    tamper(ctx, backend, ("DELETE FROM audit_records WHERE id = :r", {"r": newest.id}))
    server_file.write_text("")  # and empties the file on the server
    by_copy = yibao(env, "audit", "verify", "--checkpoints", str(copy))
    assert by_copy.returncode == 1
    assert f"also: audit_records card {newest.entity_id} #{newest.seq}: record #{newest.seq} of the chain was " \
           "removed" in by_copy.stderr
