"""The facts of a payment read in one statement agree with the same facts read one lookup at a time, on every
database: the enrolment in force that day, the owner's filing, the pair's grant, the standing of both, the
holder of a payment code (unused, unexpired, its e-voucher active)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from tests.support import add_person, build_world
from yibao.domain.clock import SHANGHAI
from yibao.domain.credentials import EVoucher
from yibao.domain.filings import FamilyGrant, Filing
from yibao.domain.life_events import LifeEvent
from yibao.domain.registry import Enrollment
from yibao.services.context import digest
from yibao.store.repositories.settlements import SqlSettlements

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
DAYS = [dt.date(2023, 12, 31), dt.date(2024, 1, 1), dt.date(2025, 6, 30), dt.date(2025, 7, 1), dt.date(2026, 3, 2)]


def _shown(value):
    """An entity or a value as plain data, whichever path built it."""
    if dataclasses.is_dataclass(value):
        return {f.name: _shown(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value) if isinstance(value, str) else value


@pytest.fixture
def people(ctx, admin):
    ctx.clock.set(AT)
    world = build_world(ctx, admin)
    owner, grantee, pending, dead = world.person.id, world.other.id, add_person(ctx, admin, card=False).id, \
        add_person(ctx, admin, name="王芳", card=False).id
    with ctx.uow() as uow:
        # a second enrolment in force from mid-2025 beside the employee one, and one that ended
        uow.add(Enrollment("enr_resident_later", grantee, "resident", None, False, dt.date(2025, 7, 1), "active",
                           AT))
        uow.add(Enrollment("enr_ended", grantee, "employee", None, True, dt.date(2023, 1, 1), "ended", AT,
                           dt.date(2025, 6, 30)))
        uow.add(Filing("fil_old", owner, "long_term", "retired_resettled", "310000", dt.date(2025, 1, 1), None,
                       "replaced", "file.rule", AT - dt.timedelta(days=30)))
        uow.add(Filing("fil_now", owner, "temporary", "referral", "310000", dt.date(2026, 1, 1),
                       dt.date(2026, 6, 30), "active", "file.rule", AT))
        uow.add(FamilyGrant("fgr_active", owner, grantee, "child", "active", "grant.rule", AT))
        uow.add(FamilyGrant("fgr_pending", owner, pending, "spouse", "pending", "grant.rule", AT))
        uow.add(FamilyGrant("fgr_revoked", grantee, owner, "parent", "revoked", "grant.rule", AT, AT))
        uow.add(LifeEvent("lev_1", dead, "death", dt.date(2026, 2, 1), AT, "test", "register"))
        uow.add(EVoucher("evc_1", grantee, "wechat", digest("token-1"), "active", AT))
        uow.add(EVoucher("evc_2", owner, "alipay", digest("token-2"), "revoked", AT, AT))
        uow.flush()
        for code, voucher, person, issued, used in [("c-valid", "evc_1", grantee, AT, False),
                                                     ("c-used", "evc_1", grantee, AT, True),
                                                     ("c-expired", "evc_1", grantee, AT - dt.timedelta(minutes=5),
                                                      False),
                                                     ("c-revoked", "evc_2", owner, AT, False)]:
            uow.payment_codes.add(code_digest=digest(code), evoucher_id=voucher, person_id=person, issued_at=issued,
                                  expires_at=issued + dt.timedelta(seconds=60))
            if used:
                assert uow.payment_codes.mark_used(digest(code), now=AT, used_for="stl_x")
        uow.commit()
    return {"owner": owner, "grantee": grantee, "pending": pending, "dead": dead, "nobody": "psn_0000000000000000",
            "institution": world.institution_code}


def test_one_statement_and_the_lookups_find_the_same_facts(ctx, people):
    institutions = [people["institution"], "P99999999999"]
    payers = [("payer_id", people[p]) for p in ("owner", "grantee", "pending", "dead", "nobody")]
    payers += [("code_digest", digest(c)) for c in ("c-valid", "c-used", "c-expired", "c-revoked", "c-unknown")]
    owners = [None, people["owner"], people["grantee"], people["nobody"]]
    compared = 0
    with ctx.uow() as uow:
        fast, plain = SqlSettlements(uow.session), SqlSettlements(uow.session, plain=True)
        for institution in institutions:
            for how, who in payers:
                for owner in owners:
                    for day in DAYS:
                        lookup = {"institution_code": institution, "day": day, "now": AT, "owner_id": owner,
                                  how: who}
                        one, other = fast.facts(**lookup), plain.facts(**lookup)
                        assert _shown(one) == _shown(other), lookup
                        compared += 1
        # the cases the rules tell apart are among those compared
        found = fast.facts(institution_code=people["institution"], day=dt.date(2026, 3, 2), now=AT,
                           owner_id=people["owner"], code_digest=digest("c-valid"))
        assert (found.payer_id, found.relation, found.filing.id) == (people["grantee"], "child", "fil_now")
        assert fast.facts(institution_code=people["institution"], day=dt.date(2025, 6, 30), now=AT,
                          payer_id=people["grantee"]).scheme is None
        assert fast.facts(institution_code=people["institution"], day=dt.date(2025, 7, 1), now=AT,
                          payer_id=people["grantee"]).scheme == "resident"
        assert fast.facts(institution_code=people["institution"], day=DAYS[-1], now=AT, owner_id=people["owner"],
                          payer_id=people["pending"]).relation is None
        assert fast.facts(institution_code=people["institution"], day=DAYS[-1], now=AT,
                          payer_id=people["dead"]).payer_standing.event_kind == "death"
        for code in ("c-used", "c-expired", "c-revoked", "c-unknown"):
            assert fast.facts(institution_code=people["institution"], day=DAYS[-1], now=AT,
                              code_digest=digest(code)).payer_id is None
    assert compared == len(institutions) * len(payers) * len(owners) * len(DAYS)
