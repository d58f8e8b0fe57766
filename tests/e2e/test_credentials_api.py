"""E-vouchers (real-name check, one per channel, token kept only as a digest) and bank accounts via HTTP (R5, R6)."""

from __future__ import annotations

import re

import pytest

from tests.support import (
    API,
    add_person,
    assert_problem,
    bearer,
    build_world,
    new_bank_no,
    rows,
)
from yibao.domain import errors
from yibao.services.credentials import evouchers
from yibao.store import tables


def holder(ctx, admin, client):
    world = build_world(ctx, admin)
    person = add_person(ctx, admin, name="欧阳娜娜", card=False)
    return world, person, bearer(client, person.username)


def activate(client, h, person, channel="app", **change):
    body = {"person_id": person.id, "id_number": person.id_number, "name": person.name, "channel": channel, **change}
    return client.post(f"{API}/evouchers", headers=h, json=body)


# --- e-vouchers ------------------------------------------------------------------


def test_owner_activates_the_evoucher_after_a_real_name_check(ctx, admin, client):
    _, person, h = holder(ctx, admin, client)

    r = activate(client, h, person, name=" 欧阳娜娜 ", id_number=person.id_number.lower())

    assert r.status_code == 201, r.text
    body = r.json()
    assert body["channel"] == "app" and body["status"] == "active" and body["person_id"] == person.id
    token = body["token"]
    assert len(token) >= 32
    assert evouchers.evoucher_holder(ctx, token=token).person_id == person.id
    [stored] = rows(ctx, tables.evouchers)
    assert re.fullmatch(r"[0-9a-f]{64}", stored.token_digest)
    assert token not in [str(v) for v in stored]


def test_real_name_mismatch_or_unknown_channel_writes_no_voucher(ctx, admin, client):
    world, person, h = holder(ctx, admin, client)

    for change in ({"name": "欧阳娜"}, {"name": "李娜"}, {"id_number": world.other.id_number}):
        problem = assert_problem(activate(client, h, person, **change), 422, "evoucher.identity_mismatch")
        assert "实名" in problem["message_zh"]
    problem = assert_problem(activate(client, h, person, channel="wechat"), 422, "evoucher.channel_invalid")
    assert "wechat" not in str(problem) and "app, miniprogram or web" in problem["message_en"]

    assert rows(ctx, tables.evouchers) == []
    assert client.get(f"{API}/persons/{person.id}/evouchers", headers=h).json() == []


def test_only_the_owner_activates_their_evoucher(ctx, admin, client):
    world, person, _ = holder(ctx, admin, client)
    for user in ("stranger", "reviewer-user", "institution-user"):
        assert_problem(activate(client, bearer(client, user), person), 403, "auth.forbidden")
    assert_problem(client.get(f"{API}/persons/{person.id}/evouchers", headers=bearer(client, "stranger")),
                   403, "auth.forbidden")
    assert rows(ctx, tables.evouchers) == []


def test_reactivating_on_a_channel_revokes_the_old_voucher_and_other_channels_coexist(ctx, admin, client):
    _, person, h = holder(ctx, admin, client)
    old = activate(client, h, person, "app").json()

    new = activate(client, h, person, "app")

    assert new.status_code == 201, new.text
    new = new.json()
    assert new["token"] != old["token"]
    listed = {v["evoucher_id"]: v for v in client.get(f"{API}/persons/{person.id}/evouchers", headers=h).json()}
    assert listed[old["evoucher_id"]]["status"] == "revoked"
    assert listed[old["evoucher_id"]]["revoked_at"] is not None
    assert listed[new["evoucher_id"]]["status"] == "active"
    assert listed[new["evoucher_id"]]["revoked_at"] is None
    with pytest.raises(errors.EVoucherInvalid):
        evouchers.evoucher_holder(ctx, token=old["token"])
    assert evouchers.evoucher_holder(ctx, token=new["token"]).id == new["evoucher_id"]

    mini = activate(client, h, person, "miniprogram")

    assert mini.status_code == 201, mini.text
    vouchers = client.get(f"{API}/persons/{person.id}/evouchers", headers=h).json()
    assert sorted((v["channel"], v["status"]) for v in vouchers) == [
        ("app", "active"), ("app", "revoked"), ("miniprogram", "active")]
    assert evouchers.evoucher_holder(ctx, token=new["token"]).channel == "app"
    assert evouchers.evoucher_holder(ctx, token=mini.json()["token"]).channel == "miniprogram"
    with pytest.raises(errors.EVoucherInvalid):
        evouchers.evoucher_holder(ctx, token="not-a-token")


# --- bank accounts -----------------------------------------------------------------


def link(client, h, person, **change):
    body = {"person_id": person.id, "account_no": new_bank_no(), "bank_name": "中国建设银行",
            "holder_name": person.name, **change}
    return client.post(f"{API}/bank-accounts", headers=h, json=body)


def test_invalid_bank_numbers_and_other_holders_are_refused(ctx, admin, client):
    _, person, h = holder(ctx, admin, client)
    good = new_bank_no()
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)

    for number in (bad, "6222", "6222abcd12345678", "62220212345678901234"):
        assert_problem(link(client, h, person, account_no=number), 422, "bank_account.invalid")
    problem = assert_problem(link(client, h, person, holder_name="欧阳菲菲"), 422, "bank_account.holder_mismatch")
    assert "户名" in problem["message_zh"]
    assert_problem(link(client, h, person, bank_name="  "), 422, "bank_account.bank_missing")
    assert_problem(link(client, h, person, bank_name="银" * 101), 422, "request.invalid")
    assert_problem(link(client, h, person, bank_name="中国银行\x00"), 422, "request.invalid")

    assert client.get(f"{API}/persons/{person.id}/bank-accounts", headers=h).json() == []


def test_one_primary_account_at_a_time(ctx, admin, client):
    _, person, h = holder(ctx, admin, client)
    first_no = new_bank_no()

    first = link(client, h, person, account_no=" ".join([first_no[:4], first_no[4:8], first_no[8:]]))
    assert first.status_code == 201, first.text
    assert first.json()["primary"] is True and first.json()["account_no"] == first_no
    second = link(client, h, person, bank_name="招商银行").json()
    assert second["primary"] is False
    third = link(client, h, person, bank_name="中国银行", primary=True).json()
    assert third["primary"] is True

    def primaries() -> list[str]:
        accounts = client.get(f"{API}/persons/{person.id}/bank-accounts", headers=h).json()
        assert len(accounts) == 3
        return [a["bank_account_id"] for a in accounts if a["primary"]]

    assert primaries() == [third["bank_account_id"]]

    switched = client.post(f"{API}/bank-accounts/{second['bank_account_id']}/primary", headers=h)

    assert switched.status_code == 200, switched.text
    assert switched.json()["primary"] is True
    assert primaries() == [second["bank_account_id"]]
    assert_problem(client.post(f"{API}/bank-accounts/bnk_nobody/primary", headers=h), 404, "bank_account.not_found")
    assert_problem(client.post(f"{API}/bank-accounts/{first.json()['bank_account_id']}/primary",
                               headers=bearer(client, "stranger")), 403, "auth.forbidden")
    assert primaries() == [second["bank_account_id"]]


def test_same_account_twice_is_a_conflict(ctx, admin, client):
    _, person, h = holder(ctx, admin, client)
    number = new_bank_no()
    assert link(client, h, person, account_no=number).status_code == 201

    assert_problem(link(client, h, person, account_no=number, bank_name="中国工商银行"), 409,
                   "bank_account.duplicate")

    assert len(client.get(f"{API}/persons/{person.id}/bank-accounts", headers=h).json()) == 1


def test_owner_sees_full_numbers_and_staff_see_them_masked(ctx, admin, client):
    _, person, h = holder(ctx, admin, client)
    reviewer = bearer(client, "reviewer-user")
    mine = new_bank_no()
    at_counter = new_bank_no()
    link(client, h, person, account_no=mine)

    linked = link(client, reviewer, person, account_no=at_counter)

    assert linked.status_code == 201, linked.text
    assert linked.json()["account_no"] == "*" * (len(at_counter) - 4) + at_counter[-4:]
    own = client.get(f"{API}/persons/{person.id}/bank-accounts", headers=h).json()
    assert [a["account_no"] for a in own] == [mine, at_counter]
    seen = client.get(f"{API}/persons/{person.id}/bank-accounts", headers=reviewer).json()
    assert [a["account_no"] for a in seen] == ["*" * (len(mine) - 4) + mine[-4:],
                                                "*" * (len(at_counter) - 4) + at_counter[-4:]]
    assert all(a["holder_name"] == "欧阳娜娜" for a in seen)
    assert_problem(client.get(f"{API}/persons/{person.id}/bank-accounts", headers=bearer(client, "stranger")),
                   403, "auth.forbidden")
    assert_problem(link(client, bearer(client, "stranger"), person), 403, "auth.forbidden")
