"""Misuse findings (R26) on the database: a run recorded twice, or two runs racing, adds each finding once; the
reviewer lists and decides them through the API (refused for other roles, twice, or a dismissal without a note),
every disposition is in the audit trail, and a confirmation freezes nothing until the reviewer asks for it."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from tests.support import API, assert_problem, bearer, build_world, count, rows
from yibao.domain.clock import SHANGHAI
from yibao.domain.findings import Detected, Pattern, SubjectKind
from yibao.domain.users import Actor, Role
from yibao.services.audit.verify import verify
from yibao.services.misuse import findings
from yibao.store.repositories.findings import SqlFindings
from yibao.store.tables import account_freezes, audit_records
from yibao.store.tables import findings as findings_table

MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def detected(subject_id: str, *ids: str, pattern: Pattern = Pattern.SPLIT_PAYMENTS, score: float = 0.8,
             kind: SubjectKind = SubjectKind.PERSON) -> Detected:
    return Detected(pattern, "2026-01", score, kind, subject_id, *MARCH, evidence={"settlement_ids": list(ids)},
                    facts={"sum_fen": 12_000, "cap_fen": 10_000, "window_minutes": 30})


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(dt.datetime(2026, 4, 2, 9, 0, tzinfo=SHANGHAI))
    return build_world(ctx, admin)


def run(world) -> list[Detected]:
    return [detected(world.person.id, "stl_a", "stl_b"), detected(world.other.id, "stl_c", score=0.4),
            detected(world.institution_code, "stl_a", "stl_c", pattern=Pattern.INSTITUTION_OUTLIER, score=0.9,
                     kind=SubjectKind.INSTITUTION)]


def test_a_period_recorded_twice_adds_each_finding_once(ctx, admin, world):
    assert findings.record(ctx, actor=admin, detected=run(world)) == (3, 0)
    assert findings.record(ctx, actor=admin, detected=run(world)) == (0, 3)
    assert count(ctx, findings_table) == 3
    with ctx.engine.connect() as conn:
        recorded = conn.execute(sa.select(sa.func.count()).select_from(audit_records)
                                .where(audit_records.c.action == "finding.record")).scalar_one()
    assert recorded == 3


def test_two_runs_racing_add_each_finding_once(ctx, admin, world, monkeypatch):
    """The run that looked before the other committed meets the unique fingerprint, and retries."""
    findings.record(ctx, actor=admin, detected=run(world)[:1])
    looked = []
    real_known = SqlFindings.known

    def stale_once(self, fingerprints):
        looked.append(1)
        return set() if len(looked) == 1 else real_known(self, fingerprints)

    monkeypatch.setattr(SqlFindings, "known", stale_once)
    assert findings.record(ctx, actor=admin, detected=run(world)) == (2, 1)
    assert len(looked) == 2 and count(ctx, findings_table) == 3


def test_the_database_refuses_a_second_fingerprint_and_a_decision_without_its_decider(ctx, world):
    row = dict(id="fnd_x", fingerprint="f" * 64, pattern="split_payments", rule_version="1", score=0.5,
               subject_kind="person", subject_id="per_x", period_from=MARCH[0], period_to=MARCH[1], evidence={},
               facts={}, found_at=dt.datetime(2026, 4, 1, tzinfo=dt.UTC), found_by="analytics", status="open")
    with ctx.engine.begin() as conn:
        conn.execute(findings_table.insert().values(**row))
    for refused in ({**row, "id": "fnd_y"}, {**row, "id": "fnd_z", "fingerprint": "e" * 64, "status": "confirmed"}):
        with pytest.raises(sa.exc.IntegrityError), ctx.engine.begin() as conn:
            conn.execute(findings_table.insert().values(**refused))
    assert count(ctx, findings_table) == 1


def test_the_reviewer_lists_and_decides_findings_through_the_api(ctx, admin, client, world):
    findings.record(ctx, actor=admin, detected=run(world))
    reviewer, auditor = bearer(client, "reviewer-user"), bearer(client, "auditor-user")
    listed = client.get(f"{API}/findings", headers=auditor, params={"status": "open"})
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [f["score"] for f in body] == [0.9, 0.8, 0.4]  # worst first
    first = body[1]
    assert {"finding_id", "pattern", "score", "evidence", "facts", "status", "rule_version", "person_id",
            "institution_code", "subject_kind", "subject_id", "period_from", "period_to"} <= set(first)
    assert (first["person_id"], first["evidence"]) == (world.person.id, {"settlement_ids": ["stl_a", "stl_b"]})
    assert body[0]["institution_code"] == world.institution_code and body[0]["person_id"] is None
    outliers = client.get(f"{API}/findings", headers=reviewer, params={"pattern": "institution_outlier"})
    assert [f["pattern"] for f in outliers.json()] == ["institution_outlier"]
    assert_problem(client.get(f"{API}/findings", headers=reviewer, params={"status": "closed"}), 422)
    for user in ("employee", "unit-user", "institution-user", "counter-user"):
        assert_problem(client.get(f"{API}/findings", headers=bearer(client, user)), 403, "auth.forbidden")

    decide = f"{API}/findings/{first['finding_id']}/disposition"
    assert_problem(client.post(decide, headers=auditor, json={"action": "confirm"}), 403, "auth.forbidden")
    assert_problem(client.post(decide, headers=reviewer, json={"action": "dismiss"}), 422, "finding.note_missing")
    assert_problem(client.post(decide, headers=reviewer, json={"action": "close"}), 422)
    dismissed = client.post(decide, headers=reviewer, json={"action": "dismiss", "note": "同一次就诊分开结算"})
    assert dismissed.status_code == 200, dismissed.text
    assert (dismissed.json()["status"], dismissed.json()["decided_by"]) == ("dismissed", "reviewer-user")
    again = assert_problem(client.post(decide, headers=reviewer, json={"action": "confirm"}), 409,
                           "finding.already_decided")
    assert "dismissed" in again["message_en"]
    assert_problem(client.post(f"{API}/findings/fnd_0000000000000000/disposition", headers=reviewer,
                               json={"action": "confirm"}), 404, "finding.not_found")
    trail = [r for r in rows(ctx, audit_records) if r.entity == "finding" and r.entity_id == first["finding_id"]]
    assert [r.action for r in trail] == ["finding.record", "finding.dismiss"]
    assert trail[1].actor == "reviewer-user" and trail[1].details["note"] == "同一次就诊分开结算"
    assert [f["status"] for f in client.get(f"{API}/findings", headers=auditor,
                                             params={"status": "dismissed"}).json()] == ["dismissed"]


def test_a_confirmed_finding_freezes_the_account_only_when_the_reviewer_asks(ctx, admin, client, world):
    findings.record(ctx, actor=admin, detected=run(world))
    reviewer = bearer(client, "reviewer-user")
    on_person = next(f for f in findings.list_findings(ctx, actor=admin) if f.subject_id == world.person.id)
    on_institution = next(f for f in findings.list_findings(ctx, actor=admin) if f.subject_kind == "institution")
    freeze = f"{API}/findings/{on_person.id}/freeze"
    assert_problem(client.post(freeze, headers=reviewer, json={"reason": "疑似分单"}), 409, "finding.not_confirmed")
    confirmed = client.post(f"{API}/findings/{on_person.id}/disposition", headers=reviewer,
                            json={"action": "confirm", "note": "三笔相隔两分钟"})
    assert confirmed.json()["status"] == "confirmed"
    assert count(ctx, account_freezes) == 0  # confirming froze nothing
    assert_problem(client.post(freeze, headers=bearer(client, "auditor-user"), json={"reason": "疑似分单"}), 403)
    assert_problem(client.post(freeze, headers=reviewer, json={"reason": " "}), 422, "card.freeze_reason_missing")
    frozen = client.post(freeze, headers=reviewer, json={"reason": "疑似分单"})
    assert frozen.status_code == 201, frozen.text
    assert frozen.json()["person_id"] == world.person.id and frozen.json()["in_force"]
    assert_problem(client.post(freeze, headers=reviewer, json={"reason": "疑似分单"}), 409, "account.already_frozen")
    client.post(f"{API}/findings/{on_institution.id}/disposition", headers=reviewer, json={"action": "confirm"})
    assert_problem(client.post(f"{API}/findings/{on_institution.id}/freeze", headers=reviewer,
                               json={"reason": "机构异常"}), 409, "finding.not_confirmed")
    actions = [r.action for r in rows(ctx, audit_records) if r.entity == "finding" and r.entity_id == on_person.id]
    assert actions == ["finding.record", "finding.confirm", "finding.freeze"]


def test_the_findings_verify_and_an_altered_disposition_is_named(ctx, admin, world):
    findings.record(ctx, actor=admin, detected=run(world))
    decided = findings.list_findings(ctx, actor=admin)[0]
    reviewer = Actor(username="verify-reviewer", role=Role.REVIEWER)
    findings.decide(ctx, actor=reviewer, finding_id=decided.id, action="dismiss", note="同一次就诊")
    report = verify(ctx)
    assert report.ok, report.breaks
    with ctx.engine.begin() as conn:  # the disposition rewritten behind the service's back
        conn.execute(findings_table.update().where(findings_table.c.id == decided.id)
                     .values(status="confirmed", note="确认"))
    broken = verify(ctx)
    assert [(b.table, b.row) for b in broken.breaks] == [("findings", decided.id)]


def test_two_runs_at_once_add_each_finding_once(ctx, admin, world, backend, monkeypatch):
    """Two threads record the same period at the same moment. On PostgreSQL both look before either writes (they
    meet at a barrier), so one loses on the unique fingerprint and retries; SQLite runs them one after the other."""
    looks = []
    if backend == "postgresql":
        barrier, real_known = threading.Barrier(2, timeout=20), SqlFindings.known

        def known_together(self, fingerprints):
            looks.append(1)
            found = real_known(self, fingerprints)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()  # the retry finds the barrier broken and goes on alone
            barrier.abort()
            return found

        monkeypatch.setattr(SqlFindings, "known", known_together)
    answers, failures = [], []

    def one_run():
        try:
            answers.append(findings.record(ctx, actor=admin, detected=run(world)))
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures and sorted(answers) == [(0, 3), (3, 0)]
    assert count(ctx, findings_table) == 3
    assert len(looks) == (3 if backend == "postgresql" else 0)  # the run that lost the race looked again
