"""Issue 25's first "done when", in a real browser against real processes: in
``QUAN_ENV=production`` with the generic HTTP SMS provider, a resident who was never registered
registers themselves (a real local identity-verification gateway says the name, ID number and
phone match), signs in with the code the SMS gateway received, and claims a voucher.

The data is prepared as an operator would (``quan db upgrade``, and the demo program seeded in
development on the same database and secrets); then ``quan serve`` and ``quan worker`` run with
production settings: every secret set, SMS through ``QUAN_SMS_PROVIDER=http`` to a local gateway
that records what it receives, real-name checks through ``QUAN_REALNAME_PROVIDER=http``. The
phone is a 390 × 844 viewport; each page must fit it and pass axe-core with no serious or
critical violation. Afterwards no name, ID number or phone of the resident is in the
database file.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.citizen_samples import resident_id
from tests.e2e.conftest import ROOT, SCREENS, _free_port, _need_browser
from tests.integration.realname_gateway import Gateway, serving

PHONE = {"width": 390, "height": 844}
RESIDENTS = {
    "zh": ("林晓明", resident_id("330106", date(1985, 4, 12), 123), "13588880001"),
    "en": ("陈雨桐", resident_id("330108", date(1992, 9, 30), 246), "13588880002"),
}


@dataclass
class SmsGateway:
    """The generic HTTP SMS gateway: records every message, checks the idempotency key."""

    received: list[dict[str, Any]] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def code(self, phone: str, kind: str, after: int = 0, timeout: float = 20.0) -> str:
        """The code of the first ``kind`` message to ``phone`` past the ``after``-th one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [m for m in self.received[after:] if m["to"] == phone]
            for message in found:
                if message["template"] == kind:
                    return str(message["params"]["code"])
            time.sleep(0.1)
        raise AssertionError(f"the SMS gateway received no {kind} message")


def _sms_handler(gateway: SmsGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with gateway.lock:
                gateway.received.append(body)
                if self.headers.get("Idempotency-Key") != body.get("message_id"):
                    gateway.mismatched.append(str(body.get("message_id")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@dataclass(frozen=True, slots=True)
class Production:
    url: str
    sms: SmsGateway
    realname: Gateway
    database: Path


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _run(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "quan.cli", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"quan {' '.join(args)} failed: {done.stderr[-2000:]}")


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the production server did not answer within 20 s")


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    _need_browser()
    var_dir = tmp_path_factory.mktemp("selfreg-prod")
    database = var_dir / "quan.db"
    base = {k: v for k, v in os.environ.items() if not k.startswith("QUAN_")}
    base.update(
        QUAN_VAR_DIR=str(var_dir),
        QUAN_DATABASE_URL=f"sqlite:///{database}",
        QUAN_SECRET_KEY=_key(),
        QUAN_PII_KEY=_key(),
        QUAN_LOG_SIGNING_KEY=_key(),
    )
    # An operator's preparation: the schema, and the demo city program to claim from.
    _run({**base, "QUAN_ENV": "development"}, "db", "upgrade")
    _run({**base, "QUAN_ENV": "development"}, "demo", "seed")
    sms = SmsGateway()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _sms_handler(sms))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sms.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    processes: list[subprocess.Popen[bytes]] = []
    logs = []
    with serving(Gateway()) as realname:
        env = {
            **base,
            "QUAN_ENV": "production",
            "QUAN_SMS_PROVIDER": "http",
            "QUAN_SMS_HTTP_URL": sms.url,
            "QUAN_REALNAME_PROVIDER": "http",
            "QUAN_REALNAME_HTTP_URL": realname.url,
            "QUAN_REALNAME_HTTP_TOKEN": realname.token,
        }
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        try:
            for name, args in (
                ("serve", ["serve", "--port", str(port)]),
                ("worker", ["worker", "--only", "outbox-relay"]),
            ):
                log = (var_dir / f"{name}.log").open("wb")
                logs.append(log)
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "quan.cli", *args],
                        env=env,
                        cwd=ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            _wait_healthy(url, processes[0], var_dir / "serve.log")
            yield Production(url, sms, realname, database)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
            for log in logs:
                log.close()
            server.shutdown()
            server.server_close()


def _accessible(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [v["id"] for v in violations if v.get("impact") in ("serious", "critical")]
    assert serious == [], f"{page.url}: {serious}"


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px)"


def _check(page: Any, shot: str) -> None:
    _fits(page)
    _accessible(page)
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"selfreg-{shot}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_resident_registers_signs_in_with_the_sms_code_and_claims_in_production(
    lang: str, production: Production, chromium: Any
) -> None:
    name, number, phone = RESIDENTS[lang]
    url = production.url
    context = chromium.new_context(viewport=PHONE, locale="zh-CN" if lang == "zh" else "en")
    page = context.new_page()
    page.goto(f"{url}/prefs?lang={lang}&next=/wallet")
    assert "/wallet/signin" in page.url
    # The way in for someone not registered at a service centre.
    page.click("[data-test=register-link]")
    page.wait_for_url("**/wallet/register")
    assert page.locator("[data-test=assisted]").is_visible()
    _check(page, f"{lang}-phone")
    page.fill("input[name=phone]", phone)
    sent = len(production.sms.received)
    page.click("[data-test=send-register-code]")
    page.wait_for_selector("[data-test=register-form]")
    code = production.sms.code(phone, "citizen.otp.register", after=sent)
    page.fill("input[name=code]", code)
    page.fill("input[name=name]", name)
    page.fill("input[name=resident_id]", number)
    page.select_option("select[name=region]", number[:6])
    page.check("input[name=consent]")
    _check(page, f"{lang}-details")
    page.click("[data-test=register]")
    page.wait_for_url("**/wallet/registered")
    assert page.locator("[data-test=registered]").is_visible()
    claimable = page.locator("[data-test=offer][data-standing=claimable]")
    assert claimable.count() >= 1  # eligible: the demo's first-come batch is open to them
    _check(page, f"{lang}-registered")
    # Signed out, the resident comes back with the code the SMS gateway received.
    page.click("[data-test=sign-out]")
    page.wait_for_url("**/wallet/signin")
    page.fill("input[name=phone]", phone)
    sent = len(production.sms.received)
    page.click("[data-test=send-code]")
    page.wait_for_selector("input[name=code]")
    page.fill("input[name=code]", production.sms.code(phone, "citizen.otp.login", after=sent))
    page.click("[data-test=sign-in]")
    page.wait_for_url("**/wallet")
    offer = page.locator("[data-test=offer][data-standing=claimable]").first
    offer.locator("[data-test=claim]").click()
    page.wait_for_url("**/wallet/vouchers/**")
    assert page.locator("[data-test=qr] svg").count() == 1
    assert page.locator("[data-test=voucher-code]").inner_text().strip()
    _check(page, f"{lang}-voucher")
    context.close()

    # The identity gateway was asked once, under the attempt's id, with the shared token.
    asked = [r for r in production.realname.received if r["body"]["phone"] == phone]
    assert len(asked) == 1
    assert asked[0]["idempotency_key"] == asked[0]["body"]["request_id"]
    assert asked[0]["body"]["id_number"] == number
    # Every SMS reached the gateway under its message id; the codes left only that way.
    assert production.sms.mismatched == []
    # Nothing personal of the resident is in the database file (nor its write-ahead log).
    stored = b"".join(
        path.read_bytes()
        for path in production.database.parent.glob(production.database.name + "*")
    )
    for value in (name, number, phone):
        assert value.encode() not in stored, f"{value[:3]}… stored in clear"
