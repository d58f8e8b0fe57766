"""Each area of the pages is its role's only: every other role is refused (403) and no session goes to sign-in."""

from __future__ import annotations

import pytest

from tests.support import PASSWORD, build_world
from tests.web.conftest import page_sign_in

AREAS = {
    "/me": "person",
    "/unit": "unit",
    "/institution": "institution",
    "/counter": "counter",
    "/review": "reviewer",
    "/audit": "auditor",
    "/admin": "admin",
}
USERS = {"person": "employee", "unit": "unit-user", "institution": "institution-user", "counter": "counter-user",
         "reviewer": "reviewer-user", "auditor": "auditor-user", "admin": "admin-user", "terminal": "terminal-user",
         "collector": "collector-user"}


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx, admin)


def test_without_a_session_every_area_asks_to_sign_in(client, world):
    for path in AREAS:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next="), path


@pytest.mark.parametrize("role", sorted(USERS))
def test_each_role_opens_its_own_area_and_no_other(client, world, role):
    signed = page_sign_in(client, USERS[role], PASSWORD)
    own = [path for path, owner in AREAS.items() if owner == role]
    if own:
        assert signed.headers["location"] == own[0]
    for path, owner in AREAS.items():
        answer = client.get(path, follow_redirects=False)
        expected = 200 if owner == role else 403
        assert answer.status_code == expected, (role, path, answer.status_code)
