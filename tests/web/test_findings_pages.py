"""The findings on the staff pages through the in-process client: the reviewer's queue and case page flag the
applicant's open findings, the reviewer's findings list and one finding's disposition form (a dismissal needs a
note, a decided finding is not decided again), the freeze as a step of its own after a confirmation, the auditor's
read-only list; a person, a unit and a cashier are refused."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import PASSWORD, add_shanghai_hospital, count, cross_region_claim, funded_world
from tests.web.conftest import page_sign_in, post_form, text_of
from yibao.domain.clock import SHANGHAI
from yibao.domain.findings import Detected, Pattern, SubjectKind
from yibao.services.misuse import findings
from yibao.store.tables import account_freezes

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def world(ctx, admin):
    world = funded_world(ctx, admin, at=NOW)
    add_shanghai_hospital(ctx, admin)
    return world


def _found(ctx, admin, world) -> list[str]:
    """Two open findings on the employee and one on the institution; their ids, worst first."""
    period = (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    findings.record(ctx, actor=admin, detected=[
        Detected(Pattern.SPLIT_PAYMENTS, "2026-01", 0.72, SubjectKind.PERSON, world.person.id, *period,
                 evidence={"settlement_ids": ["stl_a", "stl_b"]}, facts={"sum_fen": 21_000}),
        Detected(Pattern.FAR_APART, "2026-01", 0.55, SubjectKind.PERSON, world.person.id, *period,
                 evidence={"settlement_ids": ["stl_c"]}),
        Detected(Pattern.INSTITUTION_OUTLIER, "2026-01", 0.91, SubjectKind.INSTITUTION, world.institution_code,
                 *period, evidence={"settlement_ids": ["stl_a"]})])
    return [f.id for f in findings.list_findings(ctx, actor=admin)]


def test_the_queue_and_the_case_flag_the_applicants_open_findings(client, ctx, admin, world):
    app_id = cross_region_claim(ctx, world, number="INV-F1")
    page_sign_in(client, "reviewer-user", PASSWORD)
    assert 'data-testid="risk-flags"' not in client.get("/review").text
    _found(ctx, admin, world)
    queue = client.get("/review?lang=en")
    assert queue.status_code == 200
    shown = text_of(queue.text)
    assert "2 open findings" in shown and "worst score 0.72: Far apart within hours, Split payments" in shown
    case = client.get(f"/review/cases/{app_id}?lang=en")
    assert "2 open findings" in text_of(case.text) and "worst score 0.72" in text_of(case.text)


def test_the_reviewer_decides_a_finding_and_freezes_only_when_asking(client, ctx, admin, world):
    worst, on_person, _ = _found(ctx, admin, world)
    page_sign_in(client, "reviewer-user", PASSWORD)
    listed = client.get("/review/findings?lang=en")
    assert listed.status_code == 200 and f"/review/findings/{worst}" in listed.text
    assert f"/review/findings/{on_person}" not in client.get("/review/findings?pattern=institution_outlier").text
    bad = client.get("/review/findings?status=closed&pattern=nope")
    assert bad.status_code == 422 and 'id="e-status"' in bad.text and 'id="e-pattern"' in bad.text
    assert "nope" not in text_of(bad.text)

    page = f"/review/findings/{on_person}"
    refused = post_form(client, f"{page}/disposition", {"action": "dismiss", "note": ""}, from_page=page)
    assert refused.status_code == 422 and 'id="e-note"' in refused.text
    confirmed = post_form(client, f"{page}/disposition", {"action": "confirm", "note": "两分钟内三笔"},
                          from_page=page)
    assert confirmed.status_code == 303
    shown = client.get(f"{page}?lang=en")
    assert 'data-testid="finding-status">Confirmed' in shown.text and "Freeze the account" in shown.text
    assert count(ctx, account_freezes) == 0  # the confirmation froze nothing
    again = client.post(f"{page}/disposition", data={"action": "escalate", "csrf_token": _token(shown.text)})
    assert again.status_code == 409 and "finding.already_decided" in again.text
    assert post_form(client, f"{page}/freeze", {"reason": ""}, from_page=page).status_code == 422
    frozen = post_form(client, f"{page}/freeze", {"reason": "疑似分单结算"}, from_page=page)
    assert frozen.status_code == 303 and count(ctx, account_freezes) == 1


def _token(html: str) -> str:
    from tests.web.conftest import csrf_of
    return csrf_of(html)


def test_the_auditor_reads_the_findings_and_decides_none(client, ctx, admin, world):
    worst, *_ = _found(ctx, admin, world)
    page_sign_in(client, "auditor-user", PASSWORD)
    listed = client.get("/audit/findings?lang=en")
    assert listed.status_code == 200 and worst in listed.text and f"/review/findings/{worst}" not in listed.text
    assert client.get(f"/review/findings/{worst}").status_code == 403


@pytest.mark.parametrize("username", ["employee", "unit-user", "institution-user"])
def test_a_person_a_unit_and_a_cashier_are_refused(client, ctx, admin, world, username):
    worst, *_ = _found(ctx, admin, world)
    page_sign_in(client, username, PASSWORD)
    for path in ("/review/findings", f"/review/findings/{worst}", "/audit/findings"):
        assert client.get(path).status_code == 403, path
    home = client.get("/")
    answer = client.post(f"/review/findings/{worst}/disposition",
                         data={"action": "confirm", "csrf_token": _token(home.text) if "csrf_token" in home.text
                               else ""})
    assert answer.status_code == 403
