"""Client addresses behind a real proxy: Debian's HAProxy in front of ``quan serve``.

``quan serve`` runs uvicorn with proxy headers on, so the client address is taken from
``X-Forwarded-For`` only when the connection comes from an address in ``FORWARDED_ALLOW_IPS``
(docs/operations.md, "Trusted proxies"). Per-address limits (here: wrong passwords per address,
``QUAN_LOGIN_IP_ATTEMPTS``) must then apply to each real client behind the proxy, not to the
proxy's one address, and a client that reaches the server directly cannot choose its address
by sending the header itself — nor by sending it through the proxy.

Every address is on the loopback network (Linux routes all of 127/8 there): HAProxy connects to
Quan from 127.0.0.3 (the trusted proxy), clients connect from 127.0.0.1x. HAProxy comes from the
distribution (``apt-get install haproxy``, as ``.ci/run`` does); without it the test skips, or
fails under ``QUAN_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REQUIRE_SERVICES

PROXY_SOURCE = "127.0.0.3"  # the address HAProxy connects to Quan from: the trusted one
LIMIT = 2  # wrong passwords per address per window (each one costs an Argon2 check)


def _haproxy() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    message = "HAProxy not installed (apt-get install haproxy)"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and QUAN_REQUIRE_SERVICES=1")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{url} did not answer: {log.read_text()[-3000:]}"
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(15)


@dataclass(frozen=True, slots=True)
class Served:
    direct: str  # Quan itself
    proxied: str  # HAProxy in front of it


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Served]:
    haproxy = _haproxy()
    var_dir = tmp_path_factory.mktemp("proxied")
    shutil.copy(sqlite_template, var_dir / "proxied.db")  # migrated once per session
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUAN_", "FORWARDED_"))}
    env |= {
        "QUAN_ENV": "development",  # SQLite in var_dir, development keys
        "QUAN_VAR_DIR": str(var_dir),
        "QUAN_DATABASE_URL": f"sqlite:///{var_dir / 'proxied.db'}",
        "QUAN_LOGIN_IP_ATTEMPTS": str(LIMIT),
        "FORWARDED_ALLOW_IPS": PROXY_SOURCE,  # uvicorn's setting: only HAProxy, not 127.0.0.1
    }
    quan_port, proxy_port = _free_port(), _free_port()
    config = var_dir / "haproxy.cfg"
    config.write_text(
        "global\n"
        "  maxconn 64\n"
        "defaults\n"
        "  mode http\n"
        "  timeout connect 5s\n"
        "  timeout client 30s\n"
        "  timeout server 30s\n"
        "frontend front\n"
        f"  bind 127.0.0.1:{proxy_port}\n"
        "  option forwardfor\n"  # appends X-Forwarded-For: <the client's address>
        "  default_backend quan\n"
        "backend quan\n"
        f"  server quan 127.0.0.1:{quan_port} source {PROXY_SOURCE}\n"
    )
    quan_log, proxy_log = var_dir / "serve.log", var_dir / "haproxy.log"
    with quan_log.open("wb") as qlog, proxy_log.open("wb") as plog:
        quan = subprocess.Popen(
            [sys.executable, "-m", "quan.cli", "serve", "--port", str(quan_port),
             "--workers", "1"],
            env=env, stdout=qlog, stderr=subprocess.STDOUT,
        )  # fmt: skip
        proxy = subprocess.Popen(
            [haproxy, "-db", "-f", str(config)], stdout=plog, stderr=subprocess.STDOUT
        )
        try:
            direct = f"http://127.0.0.1:{quan_port}"
            proxied = f"http://127.0.0.1:{proxy_port}"
            _wait_for(f"{direct}/api/v1/health", quan, quan_log, 120)
            _wait_for(f"{proxied}/api/v1/health", proxy, proxy_log, 30)
            yield Served(direct, proxied)
        finally:
            _stop(proxy)
            _stop(quan)


def _wrong_passwords(base: str, source: str, tries: int, tag: str, **headers: str) -> list[int]:
    """``tries`` wrong sign-ins from the client address ``source``, each for another account
    (so that only the per-address limit can refuse them)."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=base, transport=transport, timeout=30) as client:
        return [
            client.post(
                "/api/v1/auth/token",
                json={"username": f"{tag}-{i}", "password": "wrong"},
                headers=headers,
            ).status_code
            for i in range(tries)
        ]


def test_the_limit_applies_to_each_real_client_behind_the_trusted_proxy(served: Served) -> None:
    first = _wrong_passwords(served.proxied, "127.0.0.11", LIMIT + 1, "a")
    assert first == [401] * LIMIT + [429]
    # Another client through the same proxy has its own budget: the address Quan counts is the
    # forwarded one, not the proxy's (without trust, both would share 127.0.0.3's).
    assert _wrong_passwords(served.proxied, "127.0.0.12", LIMIT, "b") == [401] * LIMIT


def test_a_forged_header_through_the_proxy_does_not_change_the_address(served: Served) -> None:
    """HAProxy appends the real address; uvicorn takes the nearest untrusted one, so a header
    the client wrote itself (a fresh address on every try) is ignored."""
    answers = [
        _wrong_passwords(
            served.proxied, "127.0.0.13", 1, f"c{i}", **{"X-Forwarded-For": f"198.51.100.{i}"}
        )[0]
        for i in range(LIMIT + 1)
    ]
    assert answers == [401] * LIMIT + [429]


def test_a_forged_header_from_an_untrusted_peer_is_ignored(served: Served) -> None:
    """A client reaching Quan directly (from 127.0.0.14, not in FORWARDED_ALLOW_IPS) sends
    ``X-Forwarded-For`` with a fresh address each time: all its tries count against its own."""
    answers = [
        _wrong_passwords(
            served.direct, "127.0.0.14", 1, f"d{i}", **{"X-Forwarded-For": f"203.0.113.{i}"}
        )[0]
        for i in range(LIMIT + 1)
    ]
    assert answers == [401] * LIMIT + [429]
    # …and the forged addresses got no budget of their own: the real one is spent.
    assert _wrong_passwords(served.direct, "127.0.0.14", 1, "d-again") == [429]
    # Neither is 127.0.0.1 trusted when FORWARDED_ALLOW_IPS names the proxy only.
    loopback = [
        _wrong_passwords(
            served.direct, "127.0.0.1", 1, f"e{i}", **{"X-Forwarded-For": f"192.0.2.{i}"}
        )[0]
        for i in range(LIMIT + 1)
    ]
    assert loopback == [401] * LIMIT + [429]
