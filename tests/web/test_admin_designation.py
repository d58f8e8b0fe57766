"""An institution's designation period changed by the admin, from today on only: a start or an end moved into the
past (which would make earlier days designated after the fact) is refused and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import PASSWORD, build_world, row_counts
from tests.web.conftest import page_sign_in, post_form, text_of
from yibao.domain import errors
from yibao.domain.registry import Institution
from yibao.domain.users import Actor, Role
from yibao.services.registry import institutions

ADMIN = Actor(username="admin-user", role=Role.ADMIN)


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx, admin)


def _institution(ctx, code: str) -> Institution:
    with ctx.uow() as uow:
        return uow.get(Institution, code)


def _change(client, code: str, **dates):
    return post_form(client, f"/admin/institutions/{code}/designation", dates, from_page="/admin/institutions")


def test_the_admin_sets_an_end_then_ends_the_designation(client, ctx, world):
    page_sign_in(client, "admin-user", PASSWORD)
    code, today = world.institution_code, ctx.today()
    start = _institution(ctx, code).designated_from
    until = (today + dt.timedelta(days=90)).isoformat()
    answer = _change(client, code, designated_from=start.isoformat(), designated_to=until)
    assert answer.status_code == 303 and _institution(ctx, code).designated_to.isoformat() == until
    assert "定点" in text_of(client.get("/admin/institutions").text)
    ended = _change(client, code, designated_from="", designated_to="")
    assert ended.status_code == 303
    institution = _institution(ctx, code)
    assert not institution.designated_on(today) and institution.designated_on(today - dt.timedelta(days=1))


def test_a_start_or_end_moved_into_the_past_is_refused(ctx, world):
    code, today = world.institution_code, ctx.today()
    current = _institution(ctx, code)
    before = row_counts(ctx)
    with pytest.raises(errors.InstitutionInvalid):
        institutions.set_designation(ctx, actor=ADMIN, code=code, designated_from=current.designated_from,
                                     designated_to=today - dt.timedelta(days=3))
    with pytest.raises(errors.InstitutionInvalid):
        institutions.set_designation(ctx, actor=ADMIN, code=code, designated_from=today - dt.timedelta(days=400),
                                     designated_to=None)
    assert row_counts(ctx) == before
    assert _institution(ctx, code).designated_from == current.designated_from


def test_only_the_admin_changes_a_designation(client, ctx, world):
    code = world.institution_code
    with pytest.raises(errors.AccessForbidden):
        institutions.set_designation(ctx, actor=Actor(username="r", role=Role.REVIEWER), code=code,
                                     designated_from=None, designated_to=None)
    page_sign_in(client, "reviewer-user", PASSWORD)
    before = row_counts(ctx)
    refused = _change(client, code, designated_from="", designated_to="")
    assert refused.status_code == 403 and row_counts(ctx) == before
