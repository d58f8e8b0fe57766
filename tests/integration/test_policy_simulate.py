"""Policy what-if: the vectorised re-decision gives the scalar engine's account and cash splits, settlement by
settlement, under a changed policy; under the policy in force it reproduces the recorded decisions."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import os
import random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support import PIN, beijing_settlement_proposal, build_world, fund, yibao
from yibao.analytics import sim_run, simulate
from yibao.analytics.sim_source import from_dataset, load_settlements
from yibao.domain.clock import SHANGHAI
from yibao.policy.engine import Engine
from yibao.policy.interface import RefundFacts, SettleFacts
from yibao.policy.loader import load_tree
from yibao.services.policy import sets
from yibao.services.settlement import payments as service

BEIJING = "110000"
# the proposal: ¥300 a day at one institution from 2026-03-03, and at most 3 payments a day, refused beyond
PROPOSED = beijing_settlement_proposal(institution_daily=("2026-03-03", 30000), daily_count=3)
INSTITUTIONS = [("H1", "hospital", "110105"), ("H2", "hospital", "110108"), ("P1", "pharmacy", "110105"),
                ("P2", "pharmacy", "110102")]


@pytest.fixture(scope="module")
def engine_in_force() -> Engine:
    return Engine(load_tree(sets.BUNDLED))


@pytest.fixture(scope="module")
def engine_proposed(engine_in_force) -> Engine:
    return Engine(simulate.candidate_set(engine_in_force.policy_set, BEIJING, "settlement.yaml",
                                         PROPOSED.encode("utf-8")))


def generated(seed: int = 7, n: int = 400, owners: int = 25):
    """Settlements of a few owners over a week, with what each item is and credits in between."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)
    rows = []
    for i in range(n):
        code, kind, place = rng.choice(INSTITUTIONS)
        at = start + dt.timedelta(minutes=rng.randrange(7 * 24 * 60))
        drug = rng.choice([500, 2_000, 9_900, 15_000, 30_000, 50_000, 80_000])
        service_fen = rng.choice([0, 0, 0, 3_000])
        rows.append({"id": f"S{i:04d}", "owner": f"P{rng.randrange(owners):02d}", "at": at, "code": code,
                     "kind": kind, "place": place, "items": [("drug", drug), ("medical_service", service_fen)],
                     "emergency": rng.random() < 0.05})
    rows.sort(key=lambda r: (r["at"], r["id"]))
    opening = {f"P{k:02d}": rng.choice([0, 20_000, 150_000, 2_000_000]) for k in range(owners)}
    credits = [(f"P{rng.randrange(owners):02d}", start + dt.timedelta(minutes=rng.randrange(7 * 24 * 60)),
                rng.choice([10_000, 50_000])) for _ in range(30)]
    refunds = [(i, rows[i]["at"] + dt.timedelta(minutes=rng.randrange(1, 600)), rng.choice([1_000, 20_000, 90_000]))
               for i in rng.sample(range(n), n // 10)]
    return rows, opening, credits, refunds


def _business_date(at: dt.datetime) -> dt.date:
    return at.astimezone(SHANGHAI).date()


def scalar(engine: Engine, rows, opening, credits, refunds) -> dict[str, tuple[int, int, bool, str]]:
    """Each settlement decided one by one through Engine.decide, as settle does: (account, cash, allowed, what
    limited it); a
    refund gives back what the account paid and, as the refund rule says, the quota of the limits in force."""
    events = ([(r["at"], 2, r["id"], r) for r in rows] + [(at, 0, "", (who, amount)) for who, at, amount in credits]
              + [(at, 1, rows[i]["id"], amount) for i, at, amount in refunds])
    balance, used, result, taken, refunded = dict(opening), {}, {}, {}, {}
    for at, kind, sid, event in sorted(events, key=lambda e: (e[:2], e[2])):
        if kind == 0:
            who, amount = event
            balance[who] += amount
            continue
        if kind == 1:
            paid, keys, row = taken[sid]
            amount = min(event, paid - refunded.get(sid, 0))
            refunded[sid] = refunded.get(sid, 0) + amount
            balance[row["owner"]] += amount
            restores = engine.decide(RefundFacts(region=BEIJING, institution_kind=row["kind"]),
                                     _business_date(at)).details["restores_quota"]
            if restores and amount > 0:
                for key in keys:
                    if key[-1] == "n":
                        used[key] -= refunded[sid] == paid
                    else:
                        used[key] -= amount
            continue
        day, owner = _business_date(event["at"]), event["owner"]
        facts = SettleFacts(region=BEIJING, institution_region=event["place"], institution_kind=event["kind"],
                            items=[(c, a) for c, a in event["items"] if a], emergency=event["emergency"],
                            balance_fen=balance[owner],
                            used={"institution_daily": used.get((owner, event["code"], day), 0),
                                  "daily": used.get((owner, day), 0), "yearly": used.get((owner, day.year), 0),
                                  "daily_count": used.get((owner, day, "n"), 0)})
        decision = engine.decide(facts, day)
        total = sum(a for _, a in event["items"])
        paid = decision.max_amount_fen if decision.allowed else 0
        result[sid] = (paid, total - paid, decision.allowed, ",".join(decision.limited_by))
        in_force = decision.details.get("limits", {})
        keys = [key for kind_, key in (("institution_daily", (owner, event["code"], day)), ("daily", (owner, day)),
                                       ("yearly", (owner, day.year)), ("daily_count", (owner, day, "n")))
                if kind_ in in_force] if paid > 0 else []
        taken[sid] = (paid, keys, event)
        balance[owner] -= paid
        for key in keys:
            used[key] = used.get(key, 0) + (1 if key[-1] == "n" else paid)
    return result


def columns(engine: Engine, rows, opening, credits, refunds) -> simulate.Settlements:
    """The generated settlements as the data set holds them, recorded as the engine in force decided them."""
    recorded = scalar(engine, rows, opening, credits, refunds)
    utc = [np.datetime64(r["at"].replace(tzinfo=None), "us") for r in rows]
    return simulate.Settlements(
        settlement_id=np.array([r["id"] for r in rows], dtype=object), at=np.array(utc, dtype="datetime64[us]"),
        business_date=np.array([_business_date(r["at"]) for r in rows], dtype="datetime64[D]"),
        institution_code=np.array([r["code"] for r in rows], dtype=object),
        institution_kind=np.array([r["kind"] for r in rows], dtype=object),
        institution_region=np.array([r["place"] for r in rows], dtype=object),
        owner_id=np.array([r["owner"] for r in rows], dtype=object),
        owner_region=np.full(len(rows), BEIJING, dtype=object),
        total_fen=np.array([sum(a for _, a in r["items"]) for r in rows], dtype=np.int64),
        covered_fen=np.array([sum(a for c, a in r["items"] if c == "drug" or r["kind"] == "hospital")
                              for r in rows], dtype=np.int64),
        account_paid_fen=np.array([recorded[r["id"]][0] for r in rows], dtype=np.int64),
        cash_fen=np.array([recorded[r["id"]][1] for r in rows], dtype=np.int64),
        emergency=np.array([r["emergency"] for r in rows], dtype=bool),
        limited_by=np.full(len(rows), "", dtype=object),
        opening_fen=opening,
        credits=(np.array([c[0] for c in credits], dtype=object),
                 np.array([np.datetime64(c[1].replace(tzinfo=None), "us") for c in credits], dtype="datetime64[us]"),
                 np.array([c[2] for c in credits], dtype=np.int64)),
        refunds=(np.array([r[0] for r in refunds], dtype=np.int64),
                 np.array([np.datetime64(r[1].replace(tzinfo=None), "us") for r in refunds], dtype="datetime64[us]"),
                 np.array([r[2] for r in refunds], dtype=np.int64)),
    )


@pytest.mark.parametrize(("block_rows", "threads"), [(simulate.BLOCK_ROWS, 1), (37, 1), (37, 4)],
                         ids=["one block", "blocks of 37 rows", "blocks of 37 rows on four threads"])
def test_the_vectorised_re_decision_splits_as_the_scalar_engine_under_a_changed_limit(engine_in_force,
                                                                                      engine_proposed, block_rows,
                                                                                      threads, monkeypatch):
    monkeypatch.setattr(simulate, "BLOCK_ROWS", block_rows)  # owners cut into blocks decide as all at once
    monkeypatch.setattr(simulate, "THREADS", threads)  # and blocks side by side as one after another
    rows, opening, credits, refunds = generated()
    data = columns(engine_in_force, rows, opening, credits, refunds)
    expected = scalar(engine_proposed, rows, opening, credits, refunds)
    outcome = simulate.redecide(engine_proposed, data)
    got = {sid: (int(a), int(c), bool(ok), outcome.limited_by(i)) for i, (sid, a, c, ok) in
           enumerate(zip(data.settlement_id, outcome.account_fen, outcome.cash_fen, outcome.allowed, strict=True))}
    assert got == expected
    assert sum("limit.daily_count" in got[sid][3] for sid in got) > 0  # each kind of limit is seen to bite
    assert sum("limit.institution_daily" in got[sid][3] for sid in got) > 0
    assert outcome.changed.sum() > 20  # the proposal bites: the comparison is not of unchanged figures
    assert (~outcome.allowed).any() and (outcome.account_fen < data.account_paid_fen).any()


def test_under_the_policy_in_force_the_generated_history_is_reproduced(engine_in_force):
    rows, opening, credits, refunds = generated(seed=11)
    data = columns(engine_in_force, rows, opening, credits, refunds)
    outcome = simulate.redecide(engine_in_force, data)
    assert not outcome.changed.any()
    assert (outcome.cash_fen == data.cash_fen).all()
    assert simulate.persons_affected(outcome) == []


def _write_dataset(data: simulate.Settlements, folder, *, shuffled: bool = False) -> None:
    """The settlements and refunds as the data set's Parquet files; shuffled: out of time order, with their
    refunded_fen, and with a copy of every row insured in Tianjin that a Beijing what-if must leave out."""
    table = pa.table({"settlement_id": data.settlement_id.astype(str), "at": data.at,
                      "business_date": data.business_date, "institution_code": data.institution_code.astype(str),
                      "institution_kind": data.institution_kind.astype(str),
                      "institution_region": data.institution_region.astype(str), "owner_id": data.owner_id.astype(str),
                      "owner_region": data.owner_region.astype(str), "total_fen": data.total_fen,
                      "account_paid_fen": data.account_paid_fen, "cash_fen": data.cash_fen,
                      "emergency": data.emergency, "limited_by": data.limited_by.astype(str),
                      "covered_fen": data.covered_fen})
    refund_ids = data.settlement_id[data.refunds[0]].astype(str)
    if shuffled:
        refunded = np.zeros(len(data), dtype=np.int64)
        np.add.at(refunded, data.refunds[0], data.refunds[2])
        table = table.append_column("refunded_fen", pa.array(refunded))
        elsewhere = table.set_column(table.schema.get_field_index("owner_region"), "owner_region",
                                     pa.array(["120000"] * len(data)))
        elsewhere = elsewhere.set_column(0, "settlement_id", pa.array([f"T{i}" for i in range(len(data))]))
        table = pa.concat_tables([table, elsewhere])
        table = table.take(np.random.default_rng(3).permutation(table.num_rows))
    pq.write_table(table, folder / "settlements.parquet", row_group_size=97)
    pq.write_table(pa.table({"refund_id": [f"R{i}" for i in range(len(refund_ids))], "settlement_id": refund_ids,
                             "at": data.refunds[1], "amount_fen": data.refunds[2]}), folder / "refunds.parquet")


@pytest.mark.parametrize("shuffled", [False, True], ids=["in time order", "shuffled with another region"])
def test_the_data_set_reader_gives_the_same_columns(engine_in_force, engine_proposed, tmp_path, shuffled):
    rows, opening, credits, refunds = generated(seed=5)
    data = dataclasses.replace(columns(engine_in_force, rows, opening, credits, refunds), opening_fen=None,
                               credits=None)
    _write_dataset(data, tmp_path, shuffled=shuffled)
    read = from_dataset(tmp_path, BEIJING, dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert len(read) == len(data) and len(read.refunds[0]) == len(data.refunds[0])
    assert sorted(read.settlement_id) == sorted(data.settlement_id) and (np.diff(read.at.view(np.int64)) >= 0).all()
    direct, via_file = simulate.redecide(engine_proposed, data), simulate.redecide(engine_proposed, read)
    assert dict(zip(data.settlement_id, direct.account_fen.tolist(), strict=True)) == dict(
        zip(read.settlement_id, via_file.account_fen.tolist(), strict=True))
    assert direct.changed.sum() > 0
    assert simulate.persons_affected(via_file) == simulate.persons_affected(direct)


# --- the recorded settlements of the operational database ------------------------------------------------


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)
    fund(ctx, admin, world.person.id, months=4, employer_id=world.employer_id)
    return world


def test_recorded_settlements_are_reproduced_and_a_lower_limit_changes_them(ctx, admin, world, engine_proposed):
    amounts = [20_000, 25_000, 9_000, 40_000, 15_000, 60_000, 30_000]
    for i, amount in enumerate(amounts):
        ctx.clock.set(dt.datetime(2026, 3, 2 + i // 3, 9, i * 5, tzinfo=SHANGHAI))
        sold = service.settle(ctx, actor=admin, idempotency_key=f"k{i}", institution_code=world.institution_code,
                              credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                              items=[{"category": "drug", "amount_fen": amount}])
        if i in (1, 4):  # a refund frees the day's quota for the next payment
            ctx.clock.set(dt.datetime(2026, 3, 2 + i // 3, 9, i * 5 + 1, tzinfo=SHANGHAI))
            service.refund(ctx, actor=admin, settlement_id=sold["settlement_id"], idempotency_key=f"r{i}",
                           amount_fen=10_000)
    data = load_settlements(ctx, BEIJING, dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert len(data) == len(amounts)
    in_force = simulate.redecide(ctx.policy, data)
    assert (in_force.account_fen == data.account_paid_fen).all() and not in_force.changed.any()
    proposed = simulate.redecide(engine_proposed, data)
    assert simulate.persons_affected(proposed) == [world.person.id]
    assert proposed.account_fen.sum() < data.account_paid_fen.sum()
    assert sim_run.persons_whose_decisions_change(ctx, region=BEIJING, file_name="settlement.yaml",
                                                  data=PROPOSED.encode("utf-8"), date_from=dt.date(2026, 3, 1),
                                                  date_to=dt.date(2026, 3, 31)) == [world.person.id]


def test_the_command_writes_the_csv_the_chart_and_the_summary(ctx, admin, world, database_url, tmp_path):
    for i, amount in enumerate([30_000, 30_000, 30_000, 30_000]):
        ctx.clock.set(dt.datetime(2026, 3, 4, 9, i * 5, tzinfo=SHANGHAI))
        service.settle(ctx, actor=admin, idempotency_key=f"k{i}", institution_code=world.institution_code,
                       credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                       items=[{"category": "drug", "amount_fen": amount}])
    proposal = tmp_path / "settlement.yaml"
    proposal.write_text(PROPOSED, encoding="utf-8")
    env = {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path / "data"),
           "YIBAO_ENV": "dev", "COLUMNS": "200"}
    ran = yibao(env, "policy", "simulate", BEIJING, "--version", str(proposal), "--from", "2026-03-01",
                "--to", "2026-03-31", "--out", str(tmp_path / "out"), "--json")
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    # recorded: ¥300 + ¥200 (¥500 a day at the institution); proposed: ¥300 that day; the daily count counts
    # payments the account took part in (one), so none is refused
    assert (summary["settlements"], summary["changed"], summary["refused"]) == (4, 1, 0)
    assert (summary["account_recorded_fen"], summary["account_proposed_fen"]) == (50_000, 30_000)
    assert summary["cash_change_fen"] == 20_000 and summary["persons_affected"] == 1
    out = tmp_path / "out"
    with (out / "changes.csv").open(encoding="utf-8") as f:
        changed = list(csv.DictReader(f))
    assert [(c["account_recorded_fen"], c["account_proposed_fen"], c["allowed"]) for c in changed] == [
        ("20000", "0", "True")]
    assert "<svg" in (out / "chart.svg").read_text(encoding="utf-8")
    assert "Policy what-if" in (out / "index.html").read_text(encoding="utf-8")
    bad = yibao(env, "policy", "simulate", BEIJING, "--version", str(tmp_path / "missing.yaml"), "--from",
                "2026-03-01", "--to", "2026-03-31")
    assert bad.returncode == 1 and "cannot be read" in bad.stderr and "Traceback" not in bad.stderr


def test_a_proposal_dated_ahead_is_replayed_as_of_its_day_against_that_days_rules(ctx, admin, world, database_url,
                                                                                  tmp_path):
    for i in range(4):  # recorded: ¥300 + ¥200 from the account (¥500 a day at the institution), then nothing
        ctx.clock.set(dt.datetime(2026, 3, 4, 9, i * 5, tzinfo=SHANGHAI))
        service.settle(ctx, actor=admin, idempotency_key=f"k{i}", institution_code=world.institution_code,
                       credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                       items=[{"category": "drug", "amount_fen": 30_000}])
    proposal = tmp_path / "settlement.yaml"  # ¥200 a day at one institution, from 2030
    proposal.write_text(beijing_settlement_proposal(institution_daily=("2030-01-01", 20000)), encoding="utf-8")
    env = {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path / "data"),
           "YIBAO_ENV": "dev", "COLUMNS": "200"}
    period = ("--from", "2026-03-01", "--to", "2026-03-31", "--json")

    plain = json.loads(yibao(env, "policy", "simulate", BEIJING, "--version", str(proposal), *period).stdout)
    ahead = yibao(env, "policy", "simulate", BEIJING, "--version", str(proposal), *period, "--as-of", "2030-01-01")

    assert plain["changed"] == 0  # March 2026 is decided by March 2026's rules: the proposal does not reach it
    assert ahead.returncode == 0, ahead.stderr
    summary = json.loads(ahead.stdout)
    assert (summary["settlements"], summary["changed"], summary["refused"]) == (4, 2, 0)
    assert (summary["account_recorded_fen"], summary["account_proposed_fen"]) == (50_000, 20_000)
    assert summary["persons_affected"] == 1
    refused = yibao(env, "policy", "simulate", BEIJING, "--version", str(proposal), *period, "--as-of",
                    "2030-01-01", "--engine", "spark")
    assert refused.returncode == 1 and "simulate.as_of" in refused.stderr


def test_as_of_compares_with_the_same_days_rules_so_an_earlier_change_in_the_period_is_not_counted(
        engine_in_force, engine_proposed):
    rows, opening, credits, refunds = generated(seed=3, n=200)
    data = columns(engine_in_force, rows, opening, credits, refunds)
    current = engine_proposed.policy_set  # a set whose own limits change within the week (from 2026-03-03)
    unchanged = sim_run.as_of(current, current, data, dt.date(2026, 3, 7))
    assert not unchanged.changed.any()  # the same set against itself as of one day: nothing is the proposal's doing
    assert simulate.redecide(engine_proposed, data).changed.any()  # while against the recorded days, much is
