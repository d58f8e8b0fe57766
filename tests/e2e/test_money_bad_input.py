"""Bad input to the money endpoints gets a clear problem and writes nothing — never a 500."""

from __future__ import annotations

import pytest

from tests.support import API, assert_problem, bearer, build_world
from tests.support import row_counts as snapshot
from yibao.services.accounts import contributions

BAD_AMOUNTS = ["100", 1.5, True, None, -1, 0, 10**13, [], {}]


@pytest.fixture
def setup(ctx, admin, client):
    world = build_world(ctx, admin)
    contributions.credit(ctx, actor=admin, person_id=world.person.id, period="2025-06", base_fen=1_000_000,
                         employer_id=world.employer_id)
    return world, bearer(client, "admin-user")


def calls(world):
    person = world.person.id
    yield from (("POST", "/contributions", {"person_id": person, "period": "2025-07", "base_fen": amount,
                                            "employer_id": world.employer_id}) for amount in BAD_AMOUNTS)
    yield "POST", "/contributions", {"person_id": person, "period": "", "base_fen": 100}
    yield "POST", "/contributions", {"person_id": person, "period": "2025-07-01", "base_fen": 100}
    yield "POST", "/contributions", {"person_id": "x" * 25, "period": "2025-07", "base_fen": 100}
    yield "POST", "/contributions", "not json"
    yield "POST", "/entries/ent_0000000000000000/reverse", {"reason": ""}
    yield "POST", "/entries/ent_0000000000000000/reverse", {"reason": "录错"}
    yield "POST", "/reversals/rvr_0000000000000000/approve", {}
    yield "POST", "/reversals/rvr_0000000000000000/reject", {"note": ""}
    yield "POST", "/reversals/rvr_0000000000000000/reject", {"note": "x" * 201}
    yield "GET", f"/accounts/{person}/entries?from=2026-13-01", None
    yield "GET", f"/accounts/{person}/entries?to=yesterday", None
    yield "GET", f"/accounts/{person}/statement.pdf?from=2026-02-30", None


def test_bad_money_requests_are_refused_with_a_problem(ctx, client, setup):
    world, headers = setup
    before = snapshot(ctx)
    wrong = []
    for method, path, body in calls(world):
        kwargs = {"content": body} if isinstance(body, str) else {"json": body}
        r = client.request(method, API + path, headers=headers, **kwargs)
        if r.status_code not in (404, 409, 422):
            wrong.append(f"{method} {path} {body!r}: {r.status_code} {r.text[:200]}")
            continue
        assert_problem(r, r.status_code)
    assert not wrong, "\n".join(wrong)
    assert snapshot(ctx) == before
