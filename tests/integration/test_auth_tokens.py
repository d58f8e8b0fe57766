"""Bearer tokens: the actor behind a token, and the tokens that no longer stand for anyone."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import PASSWORD
from yibao.domain import errors
from yibao.domain.users import Role
from yibao.services.credentials import auth
from yibao.store.tables import users


def test_a_token_stands_for_its_user_until_it_expires_is_revoked_or_the_user_is_disabled(ctx, admin):
    ctx.clock.set(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    user = auth.add_user(ctx, actor=admin, username="clerk", password=PASSWORD, role="reviewer")
    token = auth.login(ctx, username="clerk", password=PASSWORD)
    actor = auth.authenticate(ctx, token)
    assert (actor.username, actor.role, actor.user_id) == ("clerk", Role.REVIEWER, user.id)
    with pytest.raises(errors.TokenInvalid):
        auth.authenticate(ctx, token + "x")

    ctx.clock.set(ctx.now() + dt.timedelta(minutes=ctx.settings.token_ttl_minutes))
    with pytest.raises(errors.TokenInvalid):
        auth.authenticate(ctx, token)

    second = auth.login(ctx, username="clerk", password=PASSWORD)
    auth.logout(ctx, second)
    with pytest.raises(errors.TokenInvalid):
        auth.authenticate(ctx, second)

    third = auth.login(ctx, username="clerk", password=PASSWORD)
    with ctx.engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == user.id).values(active=False))
    with pytest.raises(errors.TokenInvalid):
        auth.authenticate(ctx, third)
