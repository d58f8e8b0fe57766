"""Browser tests: a real server per database (uvicorn on 127.0.0.1, session-scoped) and Debian's Chromium driven
headless by Playwright. In CI a missing Chromium fails the run; elsewhere the browser tests skip with the reason.

Page tests that need no browser use the in-process `client` of tests/conftest.py and the helpers here."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from tests.conftest import IN_CI
from yibao.api.app import create_app
from yibao.bootstrap import bootstrap
from yibao.config import Settings
from yibao.store.db import create_engine
from yibao.store.migrate import upgrade

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def post_form(client, path: str, data: dict, *, from_page: str | None = None, files=None, **kw):
    """Submit a form as the browser would: take the token from the page that shows the form, then post."""
    page = client.get(from_page or path)
    return client.post(path, data={**data, "csrf_token": csrf_of(page.text)}, files=files, follow_redirects=False,
                       **kw)


def page_sign_in(client, username: str, password: str):
    answer = post_form(client, "/login", {"username": username, "password": password})
    assert answer.status_code == 303, answer.text[:500]
    return answer


def text_of(html: str) -> str:
    """The visible words of a page's main part, for asserting what a reader sees."""
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


class LiveServer:
    """The whole application on a free port of 127.0.0.1, in a thread of the test process."""

    def __init__(self, settings: Settings) -> None:
        self.ctx = bootstrap(settings)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(self.ctx), host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.ctx.engine.dispose()


def demo_server(backend: str, request, folder: Path, database: str, bank_simulator) -> LiveServer:
    """A server on a database of its own (`database` names it on PostgreSQL), migrated, with the demo loaded."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'yibao.db'}"
    else:
        url = request.getfixturevalue("pg_cluster").create_database(database)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(env="test", database_url=url, data_dir=folder / "data", argon2_profile="light",
                        secret_key=f"{database}-secret-key", bank_url=bank_simulator.url,
                        bank_public_key=bank_simulator.public_key)
    server = LiveServer(settings).start()
    from yibao.services import demo

    demo.load(server.ctx)
    return server


@pytest.fixture(scope="session")
def live_server(backend, request, tmp_path_factory, bank_simulator):
    """One server per database for the browser tests, with the demo loaded; tests add what they need."""
    server = demo_server(backend, request, tmp_path_factory.mktemp(f"web-{backend}"), "yibao_web", bank_simulator)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail("Chromium is missing; `make test` installs it", pytrace=False)
        pytest.skip("Chromium not installed (run `make test` to install it)")
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture
def base_url(live_server):
    return live_server.url


@pytest.fixture
def browser_context_args(base_url):
    return {"base_url": base_url, "locale": "zh-CN", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def phone_context_args(base_url):
    return {"base_url": base_url, "locale": "zh-CN", "viewport": {"width": 375, "height": 812}, "is_mobile": True,
            "has_touch": True}


def shot(page, name: str) -> Path:
    """Keep a screenshot of the page as a test artifact (var/test-artifacts/screenshots)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_clean(page) -> None:
    """No serious or critical accessibility violation on the page as it is now (axe-core)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label(re.compile("用户名|User name")).fill(username)
    page.get_by_label(re.compile("^密码|^Password")).fill(password)
    page.get_by_role("button", name=re.compile("^登录$|^Sign in$")).click()
