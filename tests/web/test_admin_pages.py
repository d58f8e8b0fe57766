"""The administrator's pages in-process: users and roles, institutions and their designation periods, a policy
change uploaded, checked, compared with the people it concerns and published with its notices, and the jobs'
last runs; and the cheats: another role on /admin, a link to a unit that does not exist, a policy file that fails
the check, an effective date after the change, a huge upload, a stale check, no form token."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.support import PASSWORD, PIN, add_person, build_world, fund, new_uscc, row_counts
from tests.web.conftest import csrf_of, page_sign_in, post_form, text_of
from yibao.domain import errors
from yibao.domain.users import Actor, Role, User
from yibao.jobs import due
from yibao.services.credentials import auth
from yibao.services.policy import publication, sets
from yibao.services.registry import institutions
from yibao.services.settlement import payments

POLICIES = Path(__file__).resolve().parents[2] / "policies"
DALIAN = "210200-dalian"
CAP_NOW = "      2024-01-01: 200000\n"


def dalian_settlement(extra: str = "      2030-01-01: 100000\n") -> bytes:
    """Dalian's settlement file with a lower cap per payment from a later day."""
    text = (POLICIES / DALIAN / "settlement.yaml").read_text(encoding="utf-8")
    assert CAP_NOW in text
    return text.replace(CAP_NOW, CAP_NOW + extra, 1).encode("utf-8")


BROKEN = b"rules:\n  dl.settlement.per_transaction:\n    question: settlement.limit.per_transaction\n" \
         b"    description: {zh: x, en: x}\n    reference: r\n    versions:\n" \
         b"      2024-01-01: {limit: settlement.limit.per_transaction, on_reach: partial, share: 0.5}\n"


@pytest.fixture
def world(ctx, admin):
    sets.load(ctx, actor=admin)  # the bundled tree in force: a publication compares with it
    return build_world(ctx, admin)


@pytest.fixture
def admin_client(client, world):
    page_sign_in(client, "admin-user", PASSWORD)
    return client


def check(client, data: bytes, *, name: str = "settlement.yaml", folder: str = DALIAN, effective: str = "2030-01-01"):
    return post_form(client, "/admin/policy/check", {"folder": folder, "effective": effective},
                     from_page="/admin/policy", files={"file": (name, data, "application/octet-stream")})


def publish_form(html: str) -> dict:
    """The hidden fields of the publish form on the check's page."""
    form = html.split('action="/admin/policy/publish"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))


def in_force(ctx) -> str:
    return ctx.policy.policy_set.digest


# --- the console and its guard -------------------------------------------------------------------------------


def test_the_overview_shows_users_institutions_policy_and_jobs(admin_client, ctx):
    page = admin_client.get("/admin")

    assert page.status_code == 200
    text = text_of(page.text)
    assert "用户与角色" in text and "定点机构" in text and "政策发布" in text and "定时任务" in text
    assert ctx.policy.set_id in text


@pytest.mark.parametrize("role", ["person", "unit", "institution", "counter", "reviewer", "auditor"])
def test_every_other_role_is_refused_the_console(client, world, role):
    page_sign_in(client, world.users[role], PASSWORD)

    for path in ("/admin", "/admin/users", "/admin/institutions", "/admin/policy", "/admin/jobs"):
        assert client.get(path).status_code == 403, path


def test_without_a_session_the_console_asks_to_sign_in(client, world):
    answer = client.get("/admin/users", follow_redirects=False)

    assert answer.status_code in (302, 303) and "/login" in answer.headers["location"]


def test_a_form_without_its_token_is_refused_and_writes_nothing(admin_client, ctx):
    before = row_counts(ctx)

    answer = admin_client.post("/admin/users", data={"username": "x-user", "password": PASSWORD, "role": "counter"})

    assert answer.status_code == 403
    assert row_counts(ctx) == before


# --- users and roles -----------------------------------------------------------------------------------------


def test_an_admin_adds_staff_and_a_linked_person_and_sees_them_listed(admin_client, ctx, admin):
    person = add_person(ctx, admin, name="周明", username="zhou")

    staff = post_form(admin_client, "/admin/users", {"username": "counter-2", "password": PASSWORD,
                                                     "role": "counter"})
    linked = post_form(admin_client, "/admin/users", {"username": "zhou-2", "password": PASSWORD, "role": "person",
                                                      "link": person.id_number})

    assert staff.status_code == linked.status_code == 303
    with ctx.uow() as uow:
        assert uow.one_by(User, username="zhou-2").person_id == person.id
        assert uow.one_by(User, username="counter-2").role == "counter"
    text = text_of(admin_client.get("/admin/users").text)
    assert "用户 zhou-2 已添加" in text and "counter-2" in text and "窗口经办" in text


def test_a_link_to_a_unit_that_does_not_exist_is_refused_beside_the_field(admin_client, ctx):
    before = row_counts(ctx)

    answer = post_form(admin_client, "/admin/users", {"username": "ghost-unit", "password": PASSWORD,
                                                      "role": "unit", "link": new_uscc()},
                       from_page="/admin/users")

    assert answer.status_code == 404
    assert 'id="e-link"' in answer.text and "未找到该参保单位" in text_of(answer.text)
    assert row_counts(ctx) == before


def test_a_linked_role_without_its_link_or_a_weak_password_writes_nothing(admin_client, ctx):
    before = row_counts(ctx)

    no_link = post_form(admin_client, "/admin/users", {"username": "cashier-x", "password": PASSWORD,
                                                       "role": "institution"})
    weak = post_form(admin_client, "/admin/users", {"username": "weak-user", "password": "short", "role": "counter"})
    forged = post_form(admin_client, "/admin/users", {"username": "root", "password": PASSWORD, "role": "root"})

    assert no_link.status_code == 422 and 'id="e-link"' in no_link.text
    assert weak.status_code == 422 and 'id="e-password"' in weak.text and "short" not in text_of(weak.text)
    assert forged.status_code == 422 and 'id="e-role"' in forged.text
    assert row_counts(ctx) == before


def test_an_admin_sets_a_new_password_and_the_old_one_stops_working(admin_client, client, world, ctx):
    answer = post_form(admin_client, "/admin/users/password", {"username": "counter-user",
                                                               "new_password": "a-new-one-2026"},
                       from_page="/admin/users")

    assert answer.status_code == 303
    unknown = post_form(admin_client, "/admin/users/password", {"username": "nobody", "new_password": "long-enough"},
                        from_page="/admin/users")
    assert unknown.status_code == 404 and 'id="e-password_user"' in unknown.text
    assert auth.login(ctx, username="counter-user", password="a-new-one-2026")


def test_an_admin_deactivates_a_user_who_can_no_longer_sign_in_but_not_themselves(admin_client, ctx):
    answer = post_form(admin_client, "/admin/users/deactivate", {"username": "auditor-user"},
                       from_page="/admin/users")

    assert answer.status_code == 303
    with ctx.uow() as uow:
        assert uow.one_by(User, username="auditor-user").active is False
    assert "已停用" in text_of(admin_client.get("/admin/users").text)
    self_stop = post_form(admin_client, "/admin/users/deactivate", {"username": "admin-user"},
                          from_page="/admin/users")
    assert self_stop.status_code == 303
    with ctx.uow() as uow:
        assert uow.one_by(User, username="admin-user").active is True


# --- institutions --------------------------------------------------------------------------------------------


def test_an_admin_registers_an_institution_with_its_designation_period(admin_client, ctx, admin):
    answer = post_form(admin_client, "/admin/institutions", {
        "code": "H21020000009", "name": "大连测试医院", "kind": "hospital", "region": "210200", "designated": "1",
        "designated_from": "2026-01-01", "designated_to": "2028-12-31"})

    assert answer.status_code == 303
    added = institutions.get_institution(ctx, actor=admin, code="H21020000009")
    assert (added.designated_from, added.designated_to) == (dt.date(2026, 1, 1), dt.date(2028, 12, 31))
    text = text_of(admin_client.get("/admin/institutions").text)
    assert "大连测试医院" in text and "2028年12月31日" in text


def test_a_designation_that_ends_before_it_starts_or_a_bad_date_writes_nothing(admin_client, ctx):
    before = row_counts(ctx)
    base = {"code": "H21020000010", "name": "大连测试医院", "kind": "hospital", "region": "210200", "designated": "1"}

    backwards = post_form(admin_client, "/admin/institutions", {**base, "designated_from": "2027-01-01",
                                                                "designated_to": "2026-01-01"})
    bad_day = post_form(admin_client, "/admin/institutions", {**base, "designated_from": "2027-02-30"})
    duplicate = post_form(admin_client, "/admin/institutions", {**base, "code": "P11000000001"})

    assert backwards.status_code == 422 and 'id="e-designated_to"' in backwards.text
    assert bad_day.status_code == 422 and 'id="e-designated_from"' in bad_day.text
    assert "2027-02-30" not in bad_day.text.split('id="e-designated_from">', 1)[1].split("</p>", 1)[0]
    assert duplicate.status_code == 409 and 'id="e-code"' in duplicate.text
    assert row_counts(ctx) == before


# --- policy publication --------------------------------------------------------------------------------------


def test_a_policy_change_shows_its_diff_and_people_then_publishes_and_tells_them(admin_client, ctx, admin):
    dalian = add_person(ctx, admin, name="王芳", region="210200")
    add_person(ctx, admin, name="刘洋", region="410000")
    before = in_force(ctx)

    checked = check(admin_client, dalian_settlement())

    assert checked.status_code == 200, text_of(checked.text)
    text = text_of(checked.text)
    assert "检查通过" in text and "大连市" in text and "dl.settlement.per_transaction" in text
    assert "¥2,000.00 → ¥1,000.00" in text and "2030年1月1日" in text
    assert 'data-testid="people">1<' in checked.text
    assert in_force(ctx) == before  # a check publishes nothing

    published = admin_client.post("/admin/policy/publish", data={**publish_form(checked.text)},
                                  follow_redirects=False)

    assert published.status_code == 303
    assert in_force(ctx) != before
    [notice] = [n for n in sets.notices_of(ctx, actor=admin, person_id=dalian.id) if n["kind"] == "policy_change"]
    assert "大连" in notice["title_zh"] and "¥2,000.00 → ¥1,000.00" in notice["body_zh"]
    page = admin_client.get("/admin/policy")
    assert "已发布" in text_of(page.text) and ctx.policy.set_id in page.text


BEIJING = "110000-beijing"
INSTITUTION_DAILY_NOW = "      2019-01-01: 50000\n"


def test_the_check_replays_the_past_year_under_the_change_and_names_whose_payments_it_would_change(
        admin_client, ctx, admin, world):
    # ¥400 from the employee's account at the pharmacy in March; a later ¥200 cap a day per institution would
    # have let the account pay ¥200 of it
    from yibao.domain.clock import SHANGHAI

    fund(ctx, admin, world.person.id, months=4, employer_id=world.employer_id)
    payments.settle(ctx, actor=admin, idempotency_key="bj-1", institution_code=world.institution_code,
                    credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                    items=[{"category": "drug", "amount_fen": 40_000}])
    ctx.clock.set(ctx.clock.now().astimezone(SHANGHAI) + dt.timedelta(days=10))
    page_sign_in(admin_client, "admin-user", PASSWORD)  # ten days on: a new session
    text = (POLICIES / BEIJING / "settlement.yaml").read_text(encoding="utf-8")
    assert INSTITUTION_DAILY_NOW in text
    effective = (ctx.today() + dt.timedelta(days=30)).isoformat()
    lower = text.replace(INSTITUTION_DAILY_NOW, INSTITUTION_DAILY_NOW + f"      {effective}: 20000\n", 1)
    counts = row_counts(ctx)

    checked = check(admin_client, lower.encode("utf-8"), folder=BEIJING, effective=effective)

    assert checked.status_code == 200, text_of(checked.text)
    assert 'data-testid="replayed-people">1<' in checked.text
    replay = text_of(checked.text.split('data-testid="replayed-110000"', 1)[1].split("</p>", 1)[0])
    assert "¥200.00" in replay and "¥400.00" in replay
    assert row_counts(ctx) == counts  # the replay writes nothing

    # a change that no recorded payment reaches names nobody (Dalian: no payments there)
    quiet = check(admin_client, dalian_settlement())
    assert quiet.status_code == 200 and 'data-testid="replayed-people">0<' in quiet.text


def test_a_policy_file_that_fails_the_check_shows_file_line_and_key_and_publishes_nothing(admin_client, ctx):
    before, counts = in_force(ctx), row_counts(ctx)

    answer = check(admin_client, BROKEN)

    assert answer.status_code == 422
    text = text_of(answer.text)
    assert f"{DALIAN}/settlement.yaml" in text and "share" in text
    assert "rules.dl.settlement.per_transaction.versions.2024-01-01.share" in text
    assert 'data-testid="line">7<' in answer.text  # the line of the key
    assert "action=\"/admin/policy/publish\"" not in answer.text
    assert in_force(ctx) == before and row_counts(ctx) == counts


def test_a_forged_publication_of_a_broken_file_publishes_nothing(admin_client, ctx):
    good = check(admin_client, dalian_settlement())
    fields = publish_form(good.text)
    counts = row_counts(ctx)
    forged = admin_client.post("/admin/policy/publish", data={**fields, "payload": base64.b64encode(BROKEN).decode()},
                               follow_redirects=False)

    assert forged.status_code == 422 and "share" in text_of(forged.text)
    assert row_counts(ctx) == counts


def test_a_change_before_the_effective_date_is_refused(admin_client, ctx):
    counts = row_counts(ctx)

    late = check(admin_client, dalian_settlement(), effective="2031-01-01")

    assert late.status_code == 200
    assert "早于所选生效日期" in text_of(late.text) and "早于生效日期" in text_of(late.text)
    assert 'action="/admin/policy/publish"' not in late.text
    past = check(admin_client, dalian_settlement(), effective="2020-01-01")
    assert past.status_code == 422 and 'id="e-effective"' in past.text
    assert row_counts(ctx) == counts


def test_a_stale_check_is_refused_when_the_policy_in_force_changed_since(admin_client, ctx, admin):
    checked = check(admin_client, dalian_settlement())
    other = check(admin_client, dalian_settlement("      2029-06-01: 150000\n"), effective="2029-06-01")
    assert admin_client.post("/admin/policy/publish", data=publish_form(other.text),
                             follow_redirects=False).status_code == 303
    counts = row_counts(ctx)

    stale = admin_client.post("/admin/policy/publish", data=publish_form(checked.text), follow_redirects=False)

    assert stale.status_code == 409 and "请重新上传并检查" in text_of(stale.text)
    assert row_counts(ctx) == counts


def test_a_huge_upload_is_refused_and_an_unknown_kind_is_explained(admin_client, ctx):
    counts = row_counts(ctx)

    huge = check(admin_client, b"#" * (publication.MAX_UPLOAD_BYTES + 10))
    odd = check(admin_client, b"hello", name="notes.txt")
    no_folder = check(admin_client, dalian_settlement(), folder="")

    assert huge.status_code == 413 and 'id="e-file"' in huge.text
    assert check(admin_client, b"#" * (3 * 1024 * 1024)).status_code == 413  # past the request limit: unread
    assert odd.status_code == 422 and ".zip" in text_of(odd.text)
    assert no_folder.status_code == 422 and 'id="e-folder"' in no_folder.text
    assert row_counts(ctx) == counts


def tree_archive(kind: str, changed: bytes) -> bytes:
    """The bundled tree inside a `policies/` folder, Dalian's settlement file changed."""
    buffer = io.BytesIO()
    members = {f"policies/{p.parent.name}/{p.name}": p.read_bytes() for p in sorted(POLICIES.glob("*/*.yaml"))}
    members[f"policies/{DALIAN}/settlement.yaml"] = changed
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, raw in members.items():
                archive.writestr(name, raw)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name, raw in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(raw)
                archive.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_whole_tree_as_an_archive_is_checked_like_a_folder(admin_client, kind):
    answer = check(admin_client, tree_archive(kind, dalian_settlement()), name=f"policies.{kind}", folder="")

    assert answer.status_code == 200, text_of(answer.text)
    assert "dl.settlement.per_transaction" in text_of(answer.text)


def test_an_archive_that_expands_too_far_is_refused(admin_client, ctx):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{DALIAN}/big.yaml", b"#" * (publication.MAX_EXPANDED_BYTES + 1))
    counts = row_counts(ctx)

    answer = check(admin_client, buffer.getvalue(), name="bomb.zip", folder="")

    assert answer.status_code == 413
    assert row_counts(ctx) == counts


# --- the jobs ------------------------------------------------------------------------------------------------


def test_the_jobs_page_lists_each_step_and_its_last_run(admin_client, ctx, admin):
    before = text_of(admin_client.get("/admin/jobs").text)
    assert "从未运行" in before and "cash_vouchers" in before

    due.run_due(ctx, actor=admin, steps=[s for s in due.STEPS if s.name != "checkpoint"])

    page = admin_client.get("/admin/jobs")
    row = page.text.split('data-testid="job-holds"', 1)[1].split("</tr>", 1)[0]
    assert "完成" in text_of("<main>" + row + "</main>") and "released: 0" in row
    assert "从未运行" in text_of(page.text.split('data-testid="job-checkpoint"', 1)[1].split("</tr>", 1)[0])


def test_a_step_that_fails_is_shown_with_its_error(admin_client, ctx, admin):
    def broken(ctx, actor, now):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        due.run_due(ctx, actor=admin, steps=[due.Step("cards", "cards", broken)])

    row = admin_client.get("/admin/jobs").text.split('data-testid="job-cards"', 1)[1].split("</tr>", 1)[0]
    assert "RuntimeError" in row and "disk full" not in row


def test_csrf_of_every_admin_page(admin_client):
    for path in ("/admin/users", "/admin/institutions", "/admin/policy"):
        assert csrf_of(admin_client.get(path).text)


def test_an_archive_with_a_path_out_of_the_tree_is_refused(admin_client, ctx):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"../{DALIAN}/settlement.yaml", dalian_settlement())
    counts = row_counts(ctx)

    answer = check(admin_client, buffer.getvalue(), name="escape.zip", folder="")

    assert answer.status_code == 422 and "不安全的路径" in text_of(answer.text)
    assert row_counts(ctx) == counts


def test_the_services_refuse_other_roles_whatever_the_page(ctx, world):
    auditor = Actor(username="auditor-user", role=Role.AUDITOR, user_id="usr_x")
    files = dict(ctx.policy.policy_set.files)
    for call in (lambda: publication.preview(ctx, actor=auditor, files=files, effective=ctx.today()),
                 lambda: auth.list_users(ctx, actor=auditor),
                 lambda: auth.deactivate_user(ctx, actor=auditor, username="counter-user"),
                 lambda: due.last_runs(ctx, actor=auditor)):
        with pytest.raises(errors.AccessForbidden):
            call()


def test_the_console_speaks_english_when_asked(admin_client):
    text = text_of(admin_client.get("/admin/policy?lang=en").text)

    assert "Policy publication" in text and "Effective date" in text
