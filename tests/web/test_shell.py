"""The pages' shell: sign-in and out, the language switch, the form token, security headers, offline API docs,
errors as pages; and in Chromium the home and sign-in pages pass the accessibility check on a phone."""

from __future__ import annotations

import re

from tests.support import PASSWORD, build_world
from tests.web.conftest import axe_clean, csrf_of, page_sign_in, post_form, shot, sign_in, text_of


def test_pages_need_a_session_and_go_home_after_sign_in(client, ctx, admin):
    build_world(ctx, admin)
    answer = client.get("/me", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fme"
    signed = page_sign_in(client, "employee", PASSWORD)
    assert signed.headers["location"] == "/me"
    cookie = signed.headers["set-cookie"]
    assert "yibao_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "可用余额" in text_of(client.get("/me").text)


def test_wrong_password_shows_the_error_and_sets_no_session(client, ctx, admin):
    build_world(ctx, admin)
    answer = post_form(client, "/login", {"username": "employee", "password": "wrong-password"})
    assert answer.status_code == 401
    assert "用户名或密码错误" in text_of(answer.text)
    assert "yibao_session" not in answer.headers.get("set-cookie", "")


def test_a_form_without_its_token_is_refused_and_changes_nothing(client, ctx, admin):
    build_world(ctx, admin)
    client.get("/login")
    answer = client.post("/login", data={"username": "employee", "password": PASSWORD},
                         follow_redirects=False)
    assert answer.status_code == 403 and "表单已失效" in text_of(answer.text)
    forged = client.post("/login", data={"username": "employee", "password": PASSWORD,
                                         "csrf_token": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403 and "yibao_session" not in forged.headers.get("set-cookie", "")


def test_a_token_of_another_browser_does_not_pass(client, ctx, admin, app):
    from fastapi.testclient import TestClient

    build_world(ctx, admin)
    with TestClient(app) as other:
        stolen = csrf_of(other.get("/login").text)
    client.get("/login")
    answer = client.post("/login", data={"username": "employee", "password": PASSWORD,
                                         "csrf_token": stolen}, follow_redirects=False)
    assert answer.status_code == 403


def test_sign_in_goes_back_only_to_this_site(client, ctx, admin):
    build_world(ctx, admin)
    page = client.get("/login")
    answer = client.post("/login", data={"username": "employee", "password": PASSWORD,
                                         "next": "//evil.example/x", "csrf_token": csrf_of(page.text)},
                         follow_redirects=False)
    assert answer.headers["location"] == "/me"


def test_sign_out_ends_the_session(client, ctx, admin):
    build_world(ctx, admin)
    page_sign_in(client, "employee", PASSWORD)
    token = client.cookies.get("yibao_session")
    post_form(client, "/logout", {}, from_page="/me")
    client.cookies.set("yibao_session", token)
    assert client.get("/me", follow_redirects=False).status_code == 303


def test_chinese_first_english_by_switch_or_browser(client):
    assert "医保网上服务大厅" in client.get("/").text
    assert 'lang="zh-CN"' in client.get("/").text
    english = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    assert "Medical insurance online service hall" in english and 'lang="en"' in english
    switched = client.get("/lang?to=en&next=/login", follow_redirects=False)
    assert switched.headers["location"] == "/login" and "yibao_lang=en" in switched.headers["set-cookie"]
    assert "Sign in" in client.get("/login").text
    assert "登录" in client.get("/login?lang=zh").text


def test_strict_security_headers_on_pages(client):
    headers = client.get("/").headers
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


def test_api_docs_are_served_from_this_site(client):
    page = client.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in page and "<script>" not in page
    assert "cdn" not in page.lower()
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/docs-init.js").status_code == 200


def test_unknown_page_and_wrong_role_answer_with_pages(client, ctx, admin):
    build_world(ctx, admin)
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    assert client.get("/api/v1/no-such").headers["content-type"].startswith("application/problem+json")
    page_sign_in(client, "reviewer-user", PASSWORD)
    refused = client.get("/me")
    assert refused.status_code == 403 and "您无权执行此操作" in text_of(refused.text)


def test_registration_shows_every_field_error_at_once_and_writes_nothing(client, ctx, admin):
    from tests.support import row_counts

    before = row_counts(ctx)
    answer = post_form(client, "/register", {"id_number": "123", "name": "", "phone": "1", "region": "999999",
                                             "password": "short"})
    assert answer.status_code == 422
    marked = set(re.findall(r'class="error" id="e-([a-z_]+)"', answer.text))
    assert marked == {"id_number", "name", "phone", "region", "password"}
    assert row_counts(ctx) == before


def test_home_and_sign_in_in_chromium_on_a_phone(browser, phone_context_args, live_server):
    context = browser.new_context(**phone_context_args)
    page = context.new_page()
    page.goto("/")
    assert page.locator("h1").inner_text() == "医保网上服务大厅"
    axe_clean(page)
    page.goto("/login")
    axe_clean(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    sign_in(page, "zhangwei", "yibao-demo-2026")
    page.wait_for_url(re.compile("/me$"))
    assert re.search(r"¥[\d,]+\.\d\d", page.get_by_test_id("available").inner_text())
    axe_clean(page)
    shot(page, "me-phone")
    context.close()


def test_a_person_registers_online_in_chromium(page, live_server):
    """Guided registration: every mistake beside its field at once, then the register confirms the person, who is
    signed in and sees the next steps; the pages pass the accessibility check."""
    from tests.support import in_register, new_id_number, new_phone
    from yibao.domain.users import Actor

    number = new_id_number(birth="19960815")
    in_register(live_server.ctx, Actor.system("test-admin"), number, "孙悦")
    page.goto("/register")
    axe_clean(page)
    page.get_by_label("姓名").fill("孙悦")
    page.get_by_label("身份证号码").fill(number[:-1])
    page.get_by_label("手机号码").fill("123")
    page.get_by_role("button", name="注册").click()
    errors = page.locator(".field .error")
    assert errors.count() >= 3  # the number, the phone and the password at once
    assert page.get_by_label("姓名").input_value() == "孙悦"
    axe_clean(page)
    page.get_by_label("身份证号码").fill(number)
    page.get_by_label("手机号码").fill(new_phone())
    page.get_by_label("参保地").select_option("110000")
    page.get_by_label("密码").fill("a-long-passphrase")
    page.get_by_role("button", name="注册").click()
    assert page.locator("h1").inner_text() == "登记成功"
    assert "人口库已核实您的身份" in page.locator("main").inner_text()
    axe_clean(page)
    shot(page, "registered")
    page.goto("/me")
    assert page.get_by_test_id("available").inner_text() == "¥0.00"


def test_page_forms_with_documents_take_files_larger_than_a_plain_request(client, ctx, admin, settings):
    """A phone photo of 3 MB fits a document form (each file within the document limit) but no other form."""
    build_world(ctx, admin)
    page_sign_in(client, "employee", PASSWORD)
    token = csrf_of(client.get("/me/applications").text)
    photo = {"doc_invoice": ("invoice.jpg", b"\xff\xd8\xff" + b"0" * (3 * 1024 * 1024), "image/jpeg")}
    assert 3 * 1024 * 1024 > settings.request_max_bytes
    taken = client.post("/me/applications/app_unknown/documents", data={"csrf_token": token}, files=photo)
    assert taken.status_code != 413 and taken.status_code < 500
    refused = client.post("/me/cards/unknown/lost", data={"csrf_token": token}, files=photo)
    assert refused.status_code == 413
    # a page's form is answered with a page in its language, the API with its problem
    assert refused.headers["content-type"].startswith("text/html") and "请求内容过大" in text_of(refused.text)
    api = client.post("/api/v1/auth/login", content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
                      headers={"content-type": "application/json"})
    assert api.status_code == 413 and api.headers["content-type"].startswith("application/problem+json")
