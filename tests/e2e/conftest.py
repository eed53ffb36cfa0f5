"""End-to-end fixtures: a served Quan process and Debian's Chromium driven by Playwright.

The browser is the system's (``/usr/bin/chromium``, Debian package ``chromium``); Playwright
never downloads one. Without it the tests skip with a message, unless ``QUAN_REQUIRE_BROWSER=1``
(CI), where they fail. The server runs on a free port with SQLite in a temporary directory, in
development mode: the transparency log is sequenced in-process and ``/api/v1/dev/outbox`` shows
the SMS codes, as on a developer's machine. The process is :mod:`tests.e2e.serve`: the app
``quan serve`` serves, whose clock the story can move forward (:meth:`Server.advance`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.serve import shift
from tests.e2e.world import StoryWorld, prepare

CHROMIUM = Path(os.environ.get("QUAN_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = os.environ.get("QUAN_REQUIRE_BROWSER") == "1"
ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "test-artifacts" / "screens"
# What a root, network-less machine needs (see the machine notes): no sandbox, no GPU, and no
# background calls home, which this network would refuse many times over.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _need_browser() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -e '.[test]')"
    if problem is None:
        return
    if REQUIRE_BROWSER:
        pytest.fail(problem + " and QUAN_REQUIRE_BROWSER=1")
    pytest.skip(problem)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    world: StoryWorld

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward (staff sessions older than their 12 hours end)."""
        shift(self.world.var_dir, seconds)

    def admin_token(self) -> str:
        answer = httpx.post(
            f"{self.url}/api/v1/auth/token",
            json={"username": "demo-admin", "password": self.world.credentials["admin"]},
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def sms_code(self, phone: str) -> str:
        """The newest sign-in code sent to ``phone`` (development outbox)."""
        token = self.admin_token()
        for _ in range(50):
            messages = httpx.get(
                f"{self.url}/api/v1/dev/outbox", headers={"Authorization": f"Bearer {token}"}
            ).json()["items"]
            for message in messages:
                if message["recipient"] == phone and "验证码" in message["body"]:
                    digits = "".join(c if c.isdigit() else " " for c in message["body"]).split()
                    return next(d for d in digits if len(d) == 6)
            time.sleep(0.1)
        raise AssertionError(f"no code was sent to {phone}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _need_browser()
    var_dir = tmp_path_factory.mktemp("e2e-var")
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("QUAN_") or k in ("QUAN_REQUIRE_BROWSER",)
    }
    env.update(QUAN_VAR_DIR=str(var_dir), QUAN_ENV="development")
    # Every page test of this process signs its staff in from 127.0.0.1 to this one server: the
    # per-address limit (30 a quarter-hour, right for the internet) would refuse the later tests.
    # The limit itself is tested in tests/integration/test_guesses.py.
    env.update(QUAN_LOGIN_IP_ATTEMPTS="1000")
    # Likewise the shops the page tests apply for (the portal and whole-program tests, twice
    # each, with a refused attempt first) against 10 an hour per address; the limit is tested
    # in tests/integration/test_merchants.py.
    env.update(QUAN_MERCHANT_APPLICATIONS_PER_HOUR="1000")
    world = prepare(var_dir, env)
    port = _free_port()
    log = (var_dir / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.serve", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            if process.poll() is not None:
                break
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not answer within 15 s")
        if process.poll() is not None:
            raise RuntimeError((var_dir / "serve.log").read_text()[-3000:])
        yield Server(url, world)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """The one Playwright and Chromium of this test process: Playwright's sync API runs an
    event loop of its own, so a second ``sync_playwright()`` in the same thread fails."""
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def browser(server: Server, chromium: Any) -> Any:
    """Chromium, once the served demo is up."""
    return chromium


@pytest.fixture(scope="session")
def screens() -> Path:
    # Overwritten run after run (same names); never emptied, since another run may be writing.
    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS
