"""The misuse rules over a small data set: for each pattern one case found with its evidence, one near miss not
found, and a second run giving the same fingerprints."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from yibao.analytics.dataset import TABLES, write_table
from yibao.analytics.detection import detect
from yibao.analytics.rules import params_for
from yibao.domain.findings import Pattern
from yibao.policy.loader import NATIONAL, load_tree

POLICIES = Path(__file__).resolve().parents[2] / "policies"
UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in China
START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 31)


@pytest.fixture(scope="module")
def policy():
    return load_tree(POLICIES)


def settlement(sid, at, *, inst="H1", payer="P1", owner=None, paid=5000, cap=10000, region="110105",
               kind="hospital", total=None, refunded=0, limited_by="", credential=None):
    return dict(settlement_id=sid, at=at, business_date=(at + dt.timedelta(hours=8)).date(), institution_code=inst,
                institution_kind=kind, institution_region=region, payer_id=payer, owner_id=owner or payer,
                owner_region="110105", credential_type="card", credential_id=credential or f"C-{payer}",
                total_fen=total or paid, account_paid_fen=paid, cash_fen=(total or paid) - paid,
                refunded_fen=refunded, emergency=False, limited_by=limited_by, cap_fen=cap)


def run(tmp_path, policy, pattern, end=END, **tables):
    for table in TABLES:
        write_table(tmp_path, table, tables.get(table, []))
    return detect(tmp_path, policy, START, end, [pattern])


def minutes(n):
    return T0 + dt.timedelta(minutes=n)


def test_parameters_come_from_the_policy_with_their_version(policy):
    params = params_for(policy, Pattern.SPLIT_PAYMENTS, END, NATIONAL)
    assert params["window"] == 30 and params.version == "misuse.split_payments@2024-01-01"
    assert params_for(policy, Pattern.SPLIT_PAYMENTS, dt.date(2023, 1, 1)) is None


def test_split_payments_over_the_cap_within_minutes(tmp_path, policy):
    rows = [settlement("S1", minutes(0), paid=9000), settlement("S2", minutes(10), paid=9000),
            settlement("S3", minutes(300), payer="P2", paid=9000), settlement("S4", minutes(400), payer="P2", paid=9000)]
    found = run(tmp_path, policy, Pattern.SPLIT_PAYMENTS, settlements=rows)
    assert [(f.subject_id, f.evidence["settlement_ids"]) for f in found] == [("P1", ["S1", "S2"])]
    assert found[0].facts["account_paid_fen"] == 18000 and found[0].facts["cap_fen"] == 10000


def test_split_payments_under_the_cap_is_not_found(tmp_path, policy):
    rows = [settlement("S1", minutes(0), paid=4000), settlement("S2", minutes(10), paid=5000)]
    assert run(tmp_path, policy, Pattern.SPLIT_PAYMENTS, settlements=rows) == []


def test_limit_hugging_five_days_running(tmp_path, policy):
    hugging = [settlement(f"S{d}", T0 + dt.timedelta(days=d), paid=9500) for d in range(5)]
    broken = [settlement(f"T{d}", T0 + dt.timedelta(days=d), payer="P2", paid=9500) for d in (0, 1, 2, 4, 5)]
    found = run(tmp_path, policy, Pattern.LIMIT_HUGGING, settlements=hugging + broken)
    assert [(f.subject_id, f.evidence["settlement_ids"]) for f in found] == [("P1", [f"S{d}" for d in range(5)])]


def test_many_institutions_in_a_day(tmp_path, policy):
    rows = [settlement(f"S{i}", minutes(20 * i), inst=f"H{i}") for i in range(4)]
    rows += [settlement(f"T{i}", minutes(20 * i), inst=f"H{i}", payer="P2") for i in range(3)]
    found = run(tmp_path, policy, Pattern.MANY_INSTITUTIONS, settlements=rows)
    assert [(f.subject_id, f.evidence["settlement_ids"]) for f in found] == [("P1", ["S0", "S1", "S2", "S3"])]


def test_far_apart_faster_than_a_flight(tmp_path, policy):
    rows = [settlement("S1", minutes(0)), settlement("S2", minutes(120), region="440305"),  # Beijing, Shenzhen
            settlement("T1", minutes(0), payer="P2"), settlement("T2", minutes(60 * 7), payer="P2", region="440300"),
            settlement("U1", minutes(0), payer="P3"), settlement("U2", minutes(30), payer="P3", region="110108"),
            settlement("V1", minutes(0), payer="P4"), settlement("V2", minutes(40), payer="P4", region="120101")]
    found = run(tmp_path, policy, Pattern.FAR_APART, settlements=rows)
    assert [(f.subject_id, f.evidence["settlement_ids"]) for f in found] == [("P1", ["S1", "S2"])]
    facts = found[0].facts
    assert 1900 < facts["km"] < 2000 and facts["minutes_apart"] == 120 < facts["fastest_minutes"]
    assert facts["regions"] == ["110105", "440305"]


def test_far_apart_takes_a_place_without_its_own_seat_at_its_province(tmp_path, policy):
    rows = [settlement("S1", minutes(0)), settlement("S2", minutes(100), region="310115"),  # Beijing, Pudong
            settlement("T1", minutes(0), payer="P2"), settlement("T2", minutes(100), payer="P2", region="990101")]
    found = run(tmp_path, policy, Pattern.FAR_APART, settlements=rows)
    assert [f.subject_id for f in found] == ["P1"]  # a region of no known seat is not judged
    assert 1000 < found[0].facts["km"] < 1150


def test_every_province_has_a_seat_inside_china():
    from yibao.analytics.rules import region_seats

    seats = {s["region"]: s for s in region_seats()}
    provinces = {code[:2] for code in seats}
    assert len(provinces) == 31 and all(f"{p}0000" in seats for p in provinces)
    assert all(18 < s["lat"] < 54 and 73 < s["lon"] < 135 for s in seats.values())


def _link(person, digest, day, unlinked=None):
    return dict(person_id=person, account_digest=digest, linked_at=dt.datetime(2026, 1, day, tzinfo=UTC),
                unlinked_at=unlinked)


def test_shared_bank_account_history_included(tmp_path, policy):
    links = [_link("P1", "a" * 64, 1, unlinked=dt.datetime(2026, 1, 5, tzinfo=UTC)), _link("P2", "a" * 64, 6),
             _link("P3", "b" * 64, 1), _link("P3", "c" * 64, 2)]
    found = run(tmp_path, policy, Pattern.SHARED_BANK_ACCOUNT, bank_accounts=links)
    assert [(f.subject_id, f.evidence["person_ids"]) for f in found] == [("a" * 64, ["P1", "P2"])]


def _application(aid, person, status="approved"):
    return dict(application_id=aid, person_id=person, kind="reimbursement", reason="outpatient", status=status,
                submitted_at=T0, amount_fen=1000, approved_fen=1000)


def _invoice(number, application="", settlement_id=""):
    return dict(invoice_number=number, issuer="ISSUER1", invoice_date=dt.date(2026, 3, 1),
                application_id=application, settlement_id=settlement_id, amount_fen=1000)


def test_duplicate_invoice_claimed_and_settled(tmp_path, policy):
    found = run(tmp_path, policy, Pattern.DUPLICATE_INVOICE,
                settlements=[settlement("S1", minutes(0))],
                applications=[_application("A1", "P1"), _application("A2", "P2", status="rejected"),
                              _application("A3", "P2")],
                invoices=[_invoice("N1", application="A1"), _invoice("N1", settlement_id="S1"),
                          _invoice("N2", application="A2"), _invoice("N2", application="A3")])
    assert [(f.subject_id, f.evidence) for f in found] == [("P1", {"application_ids": ["A1"],
                                                                    "settlement_ids": ["S1"]})]


def _person(pid, died_on=None):
    return dict(person_id=pid, region="110105", birth_year=1950, died_on=died_on, emigrated_on=None)


def test_after_death_of_payer_or_owner(tmp_path, policy):
    rows = [settlement("S1", T0 + dt.timedelta(days=5)), settlement("S0", T0),
            settlement("S2", T0 + dt.timedelta(days=6), payer="P2", owner="P3"),
            settlement("S3", T0 + dt.timedelta(days=6), payer="P4")]
    persons = [_person("P1", died_on=dt.date(2026, 3, 4)), _person("P2"), _person("P3", dt.date(2026, 3, 7)),
               _person("P4", dt.date(2026, 3, 20))]
    found = run(tmp_path, policy, Pattern.AFTER_DEATH, settlements=rows, persons=persons)
    assert [(f.subject_id, f.evidence["settlement_ids"]) for f in found] == [("P1", ["S1"]), ("P3", ["S2"])]


def test_institution_outlier_by_refund_share(tmp_path, policy):
    rows = []
    for i, share in enumerate([0.01, 0.02, 0.015, 0.02, 0.01, 0.6]):
        for j in range(4):
            rows.append(settlement(f"S{i}-{j}", minutes(j), inst=f"H{i}", payer=f"P{j}", paid=10000,
                                   refunded=int(10000 * share) if j < 2 else 0))
    found = run(tmp_path, policy, Pattern.INSTITUTION_OUTLIER, settlements=rows)
    assert [f.subject_id for f in found] == ["H5"]
    assert found[0].evidence["settlement_ids"] == [f"S5-{j}" for j in range(4)]
    assert "refund_share" in found[0].facts["z"]


def test_institution_outlier_by_night_share_in_china_time(tmp_path, policy):
    rows = []
    for i in range(6):
        for j in range(4):
            night = i == 5 or (i in (0, 1, 4) and j == 0)
            at = dt.datetime(2026, 3, 2, 15, j, tzinfo=UTC) if night else minutes(j)  # 23:0j in China, or 10:0j
            rows.append(settlement(f"S{i}-{j}", at, inst=f"H{i}", payer=f"P{j}", kind="pharmacy"))
    found = run(tmp_path, policy, Pattern.INSTITUTION_OUTLIER, settlements=rows)
    assert [(f.subject_id, sorted(f.facts["z"])) for f in found] == [("H5", ["night_share"])]


def test_institution_outlier_needs_enough_peers(tmp_path, policy):
    rows = [settlement(f"S{i}", minutes(i), inst=f"H{i}", refunded=9000 if i == 3 else 100) for i in range(4)]
    assert run(tmp_path, policy, Pattern.INSTITUTION_OUTLIER, settlements=rows) == []


def test_institution_outlier_not_for_a_share_peers_barely_differ_on(tmp_path, policy):
    def peers(outlier_share):
        rows = []
        for i, share in enumerate([0.005, 0.005, 0.006, 0.005, 0.006, outlier_share]):
            for j in range(4):
                rows.append(settlement(f"S{i}-{j}", minutes(j), inst=f"H{i}", payer=f"P{j}", paid=10000,
                                       refunded=int(40000 * share) if j == 0 else 0))
        return rows

    assert run(tmp_path, policy, Pattern.INSTITUTION_OUTLIER, settlements=peers(0.02)) == []  # 2 % against 0.5 %
    found = run(tmp_path, policy, Pattern.INSTITUTION_OUTLIER, settlements=peers(0.3))
    assert [(f.subject_id, sorted(f.facts["z"])) for f in found] == [("H5", ["refund_share"])]


def _grant(gid, owner, grantee, day=2):
    return dict(grant_id=gid, owner_id=owner, grantee_id=grantee, relation="spouse", status="active",
                starts_on=dt.date(2026, 3, day), ends_on=None)


def test_family_pattern_grantee_paying_often_far_above_the_owner(tmp_path, policy):
    def spending(grantee, owner, payments, each, own):
        return ([settlement(f"{grantee}-{n}", T0 + dt.timedelta(days=n), payer=grantee, owner=owner, paid=each, cap=0)
                 for n in range(payments)] + [settlement(f"{owner}-1", minutes(60), payer=owner, paid=own, cap=0)])

    rows = (spending("G1", "O1", 12, 5000, 10000)  # twelve payments, six times the owner's own
            + spending("G2", "O2", 12, 5000, 30000)  # twice the owner's own
            + spending("G3", "O3", 3, 20000, 10000))  # six times, but three payments: an illness, not a habit
    found = run(tmp_path, policy, Pattern.FAMILY_PATTERN, settlements=rows)
    assert [(f.subject_id, f.facts["owner_id"], f.facts["grantee_paid_fen"]) for f in found] == [("G1", "O1", 60000)]
    assert found[0].evidence == {"settlement_ids": [f"G1-{n}" for n in range(12)]}


def test_family_pattern_grants_rotating(tmp_path, policy):
    grants = [_grant("R1", "X", "A"), _grant("R2", "X", "B"), _grant("R3", "C", "X"),
              _grant("R4", "Y", "A"), _grant("R5", "Y", "B")]
    found = run(tmp_path, policy, Pattern.FAMILY_PATTERN, grants=grants)
    assert [(f.subject_id, f.evidence) for f in found] == [("X", {"grant_ids": ["R1", "R2", "R3"]})]


def test_emergency_unclaimed_once_the_window_closed(tmp_path, policy):
    def emergency(sid, payer, day):
        return {**settlement(sid, T0 + dt.timedelta(days=day), payer=payer), "emergency": True}

    rows = [emergency("S1", "P1", 0), emergency("S2", "P2", 0), emergency("S3", "P3", 25)]
    claim = {**_application("A1", "P2"), "reason": "emergency", "submitted_at": T0 + dt.timedelta(days=10)}
    found = run(tmp_path, policy, Pattern.EMERGENCY_UNCLAIMED, end=dt.date(2026, 4, 10), settlements=rows,
                applications=[claim])
    assert [(f.subject_id, f.evidence["settlement_ids"]) for f in found] == [("P1", ["S1"])]


def test_a_second_run_gives_the_same_fingerprints(tmp_path, policy):
    rows = [settlement("S1", minutes(0), paid=9000), settlement("S2", minutes(10), paid=9000),
            settlement("S3", minutes(120), region="440300")]  # split over the cap, then Shenzhen 110 minutes later
    for table in TABLES:
        write_table(tmp_path, table, rows if table == "settlements" else [])
    first = {f.fingerprint() for f in detect(tmp_path, policy, START, END)}
    second = {f.fingerprint() for f in detect(tmp_path, policy, START, END)}
    assert first == second and len(first) == 2


# --- through the services and the exporter, on each database ----------------------------------------------------

def _services_world(ctx, admin):
    """A payment and its partial refund, one bank number linked by two persons in turn, then the payer's death
    recorded as of the payment's day."""
    from tests.support import PIN, funded_world, new_bank_no
    from yibao.domain.clock import SHANGHAI
    from yibao.domain.users import Actor, Role
    from yibao.services.credentials import evouchers
    from yibao.services.registry import life_events
    from yibao.services.settlement import payments

    world = funded_world(ctx, admin, at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))
    cashier = Actor(username="institution-user", role=Role.INSTITUTION, institution_code=world.institution_code)
    card = {"type": "card", "card_no": world.person.card_no, "pin": PIN}
    first = payments.settle(ctx, actor=cashier, idempotency_key="k1", institution_code=world.institution_code,
                            credential=card, items=[{"category": "drug", "amount_fen": 3000}])
    payments.refund(ctx, actor=cashier, settlement_id=first["settlement_id"], idempotency_key="r1", amount_fen=1000)
    number = new_bank_no()
    linked = evouchers.link_bank_account(ctx, actor=admin, person_id=world.other.id, account_no=number,
                                         bank_name="中国银行", holder_name="李娜")
    evouchers.unlink_bank_account(ctx, actor=admin, account_id=linked.id)
    evouchers.link_bank_account(ctx, actor=admin, person_id=world.person.id, account_no=number,
                                bank_name="中国银行", holder_name="张伟")
    ctx.clock.set(dt.datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI))
    life_events.record_event(ctx, actor=admin, person_id=world.person.id, kind="death", date=dt.date(2026, 3, 2))
    return world, first["settlement_id"], number


def test_export_of_what_the_services_did_is_found(ctx, admin, policy, tmp_path, settings):
    import hashlib

    import pyarrow.parquet as pq

    from yibao.analytics.export import digest_key, export

    world, settlement_id, number = _services_world(ctx, admin)
    key = digest_key(settings.secret_key)
    folder = export(settings.resolved_database_url, tmp_path / "set", START, END, key=key)
    exported = pq.read_table(folder / "settlements.parquet").to_pylist()
    assert [(r["settlement_id"], r["account_paid_fen"], r["refunded_fen"]) for r in exported] == [
        (settlement_id, 3000, 1000)]
    assert abs(exported[0]["at"] - dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)) < dt.timedelta(minutes=1)  # 09:00 China
    links = pq.read_table(folder / "bank_accounts.parquet").to_pylist()
    assert number not in str(links) and len(links) == 3
    # keyed: without the deployment's secret, trying numbers against the digests finds nothing
    assert hashlib.sha256(number.encode()).hexdigest() not in {link["account_digest"] for link in links}
    other = export(settings.resolved_database_url, tmp_path / "other", START, END, key=digest_key("another-secret"))
    assert {r["account_digest"] for r in pq.read_table(other / "bank_accounts.parquet").to_pylist()}.isdisjoint(
        {link["account_digest"] for link in links})
    found = detect(folder, policy, START, END)
    by_pattern = {(f.pattern, f.subject_id): f.evidence for f in found}
    assert by_pattern[(Pattern.AFTER_DEATH, world.person.id)] == {"settlement_ids": [settlement_id]}
    shared = [f for f in found if f.pattern == Pattern.SHARED_BANK_ACCOUNT]
    assert [sorted(f.evidence["person_ids"]) for f in shared] == [sorted([world.person.id, world.other.id])]
    assert (Pattern.AFTER_DEATH, world.other.id) not in by_pattern
    again = export(settings.resolved_database_url, tmp_path / "again", START, END, key=key)
    assert {f.fingerprint() for f in detect(again, policy, START, END)} == {f.fingerprint() for f in found}


def test_the_command_prints_the_findings_of_a_period(ctx, admin, database_url, tmp_path):
    import json
    import os

    from tests.support import yibao

    world, settlement_id, _ = _services_world(ctx, admin)
    env = {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path),
           "YIBAO_ARGON2_PROFILE": "light", "YIBAO_ENV": "dev", "COLUMNS": "200"}
    done = yibao(env, "analytics", "misuse", "--from", "2026-03-01", "--to", "2026-03-31", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert {(f["pattern"], f["subject_id"]) for f in shown} >= {("after_death", world.person.id)}
    assert all(len(f["fingerprint"]) == 64 and f["rule_version"].startswith("misuse.") for f in shown)
    # each as the command's contract lists it: its id in review, whom it is about, the evidence ids, the rule
    death = next(f for f in shown if f["pattern"] == "after_death")
    assert death["finding_id"].startswith("fnd") and death["person_id"] == world.person.id
    assert death["institution_code"] is None and death["evidence"] == [settlement_id]
    assert death["rule"] == death["rule_version"] and death["evidence_by_kind"] == {"settlement_ids": [settlement_id]}
    refused = yibao(env, "analytics", "misuse", "--from", "2026-03-31", "--to", "2026-03-01")
    assert refused.returncode == 1 and "analytics.invalid" in refused.stderr


def test_findings_of_a_run_reach_the_reviewer_once(ctx, admin, database_url, tmp_path, client):
    """The command hands what it found to the findings service; a second run adds nothing; the reviewer reads the
    finding through the API and confirms it, audited."""
    import os

    from tests.support import PASSWORD, bearer, yibao
    from yibao.services.credentials import auth

    world, _settlement_id, _ = _services_world(ctx, admin)
    env = {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path),
           "YIBAO_ARGON2_PROFILE": "light", "YIBAO_ENV": "dev", "COLUMNS": "200"}
    first = yibao(env, "analytics", "misuse", "--from", "2026-03-01", "--to", "2026-03-31")
    assert first.returncode == 0 and "to review:" in first.stdout and "0 already" in first.stdout, first.stdout
    again = yibao(env, "analytics", "misuse", "--from", "2026-03-01", "--to", "2026-03-31")
    assert again.returncode == 0 and "to review: 0 new" in again.stdout, again.stdout
    auth.add_user(ctx, actor=admin, username="finding-reviewer", password=PASSWORD, role="reviewer")
    headers = bearer(client, "finding-reviewer")
    listed = client.get("/api/v1/findings?pattern=after_death", headers=headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    items = body["items"] if isinstance(body, dict) else body
    death = [f for f in items if f["subject_id"] == world.person.id]
    assert len(death) == 1
    decided = client.post(f"/api/v1/findings/{death[0]['finding_id']}/disposition", headers=headers,
                          json={"action": "confirm", "note": "核实：死亡后仍有结算"})
    assert decided.status_code == 200 and decided.json()["status"] == "confirmed", decided.text


def test_findings_about_persons_or_institutions_not_registered_here_are_not_recorded(ctx, admin):
    """A data set of several regions names other regions' people: their findings are left out, counted."""
    from yibao.analytics import misuse
    from yibao.domain.findings import Detected, SubjectKind
    from yibao.services.misuse import findings

    world = _services_world(ctx, admin)[0]

    def about(kind: SubjectKind, subject: str, **evidence) -> Detected:
        return Detected(Pattern.AFTER_DEATH, "misuse.after_death@2024-01-01", 1.0, kind, subject, START, END,
                        evidence or {"settlement_ids": [f"stl_{subject}"]}, {})

    found = [about(SubjectKind.PERSON, world.person.id), about(SubjectKind.PERSON, "per_of_another_region"),
             about(SubjectKind.INSTITUTION, world.institution_code), about(SubjectKind.INSTITUTION, "H44030000001"),
             about(SubjectKind.BANK_ACCOUNT, "d" * 64, person_ids=["per_x", world.other.id]),
             about(SubjectKind.BANK_ACCOUNT, "e" * 64, person_ids=["per_x", "per_y"])]

    assert misuse.hand_over(ctx, found, actor=admin) == (3, 0, 3)
    recorded = {(f.subject_kind, f.subject_id) for f in findings.list_findings(ctx, actor=admin)}
    assert recorded == {(SubjectKind.PERSON, world.person.id), (SubjectKind.INSTITUTION, world.institution_code),
                        (SubjectKind.BANK_ACCOUNT, "d" * 64)}
    assert misuse.hand_over(ctx, found, actor=admin) == (0, 3, 3)  # and a second run adds nothing


def test_minutes_hours_and_score_units_are_checked():
    from yibao.policy.parameters import parse_parameters
    from yibao.policy.source import PolicyFileError, read

    def one(unit, value):
        text = (f"parameters:\n  misuse.x.y:\n    description: {{zh: 测试, en: test}}\n    unit: {unit}\n"
                f"    reference: test\n    values:\n      2024-01-01: {value}\n")
        return parse_parameters(read(Path("misuse.yaml"), text))["misuse.x.y"].at(dt.date(2024, 1, 1))[0]

    assert one("minutes", 30) == 30 and one("hours", 6) == 6 and str(one("score", 3.5)) == "3.5"
    assert one("km", 300) == 300 and one("km_per_hour", 800) == 800
    for unit, value in [("minutes", 1.5), ("hours", -1), ("score", -0.5), ("score", "many"), ("km", 2.5),
                        ("km_per_hour", -800)]:
        with pytest.raises(PolicyFileError):
            one(unit, value)


def test_payments_split_over_a_cap_through_the_services(ctx, admin, policy, tmp_path, settings):
    from tests.support import PIN, add_person, fund, new_phone, new_uscc
    from yibao.analytics.export import digest_key, export
    from yibao.domain.clock import SHANGHAI
    from yibao.domain.users import Actor, Role
    from yibao.services.registry import enrolment, institutions
    from yibao.services.settlement import payments

    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    employer = enrolment.register_employer(ctx, actor=admin, uscc=new_uscc(), name="大连单位", region="210200",
                                           contact_name="周敏", contact_phone=new_phone())
    code = institutions.add_institution(ctx, actor=admin, code="P21020000001", name="大连药房", kind="pharmacy",
                                        region="210200", designated=True, cross_region=False,
                                        designated_from=dt.date(2024, 1, 1)).code
    people = []
    for name in ("王芳", "刘洋"):
        person = add_person(ctx, admin, name=name, region="210200")
        enrolment.enroll(ctx, actor=admin, person_id=person.id, scheme="employee", employer_id=employer.id,
                         start_date=dt.date(2024, 1, 1))
        fund(ctx, admin, person.id, months=12, employer_id=employer.id)
        people.append(person)
    cashier = Actor(username="cashier-dl", role=Role.INSTITUTION, institution_code=code)
    paid = {}
    for person, gap in zip(people, (10, 60), strict=True):
        for n in range(2):
            ctx.clock.set(dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI) + dt.timedelta(minutes=gap * n))
            done = payments.settle(ctx, actor=cashier, idempotency_key=f"{person.id}-{n}", institution_code=code,
                                   credential={"type": "card", "card_no": person.card_no, "pin": PIN},
                                   items=[{"category": "drug", "amount_fen": 150_000}])
            assert done["account_paid_fen"] == 150_000
            paid.setdefault(person.id, []).append(done["settlement_id"])
    folder = export(settings.resolved_database_url, tmp_path / "set", START, END, ctx.policy,
                    key=digest_key(settings.secret_key))
    found = detect(folder, policy, START, END, [Pattern.SPLIT_PAYMENTS])
    assert [(f.subject_id, sorted(f.evidence["settlement_ids"]), f.facts["cap_fen"]) for f in found] == [
        (people[0].id, sorted(paid[people[0].id]), 200_000)]
