"""Input no route could store is refused at the edge with a 422 problem, on every path: NUL
characters, dates at the ends of the calendar, JSON nested too deep, and bodies that never
finish arriving (408). Issue 13, findings A1, A2 and A6 (slow bodies)."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.routing import APIRoute

from quan.api.app import create_app
from quan.api.schemas.common import Body
from quan.services.runtime import Runtime
from tests.conftest import World
from tests.integration import issuance_fixtures as issuance

DEEP = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"channel":' + b"[" * 1000 + b"]" * 1000 + b"}"


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


NUL_REQUESTS = [
    ("path id", "get", "/api/v1/programs/prg_%00x", None),
    ("query parameter", "get", "/api/v1/programs?cursor=%00", None),
    ("public path", "get", "/api/v1/public/programs/prg_%00", None),
    ("json text", "post", "/api/v1/programs", {"name": "券\u0000", "timezone": "Asia/Shanghai",
                                             "starts_at": "2026-11-25T00:00:00+08:00",
                                             "ends_at": "2027-03-01T00:00:00+08:00"}),
    ("json key", "post", "/api/v1/funders", {"name": "财政局", "kind": "department", "\u0000": 1}),
    ("lone surrogate", "post", "/api/v1/funders", b'{"name": "\\ud800", "kind": "department"}'),
    ("lean claim path", "post", "/api/v1/batches/bat_%00/claims", {}),
    ("lean redemption", "post", "/api/v1/redemptions", {"code": "\u0000", "amount_fen": 100}),
]


@pytest.mark.parametrize(("case", "method", "path", "body"), NUL_REQUESTS,
                         ids=[c[0] for c in NUL_REQUESTS])
def test_nul_anywhere_is_a_422_problem(
    world: World, case: str, method: str, path: str, body: Any
) -> None:
    headers = world.headers("operator")
    if method == "get":
        response = world.client.get(path, headers=headers)
    elif isinstance(body, bytes):
        headers["content-type"] = "application/json"
        response = world.client.post(path, content=body, headers=headers)
    else:
        response = world.client.post(path, json=body, headers=headers)
    _problem(response, 422, "UNSTORABLE_INPUT")


def test_an_escaped_backslash_before_u0000_is_text_not_nul(world: World) -> None:
    response = world.post("operator", "/funders", {"name": "C:\\u0000", "kind": "department"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "C:\\u0000"


def test_nul_in_a_console_form_is_a_422_problem(world: World) -> None:
    response = world.client.post(
        "/signin", content=b"username=admin%00&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    _problem(response, 422, "UNSTORABLE_INPUT")


EDGE_DATES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z"]


@pytest.mark.parametrize("at", EDGE_DATES)
def test_instants_at_the_ends_of_the_calendar_are_refused(world: World, at: str) -> None:
    body = {"name": "券", "timezone": "Asia/Shanghai", "starts_at": at,
            "ends_at": "2027-03-01T00:00:00+08:00"}
    _problem(world.post("operator", "/programs", body), 422, "VALIDATION_FAILED")
    body = {**body, "starts_at": "2026-11-25T00:00:00+08:00", "ends_at": at}
    _problem(world.post("operator", "/programs", body), 422, "VALIDATION_FAILED")


def test_settling_up_to_the_last_day_of_the_calendar_is_refused(world: World) -> None:
    pid = issuance.funded_program(world)
    response = world.post("operator", f"/programs/{pid}/settlements",
                          {"cut_off_date": "9999-12-31"}, **{"Idempotency-Key": "edge-date-1"})
    _problem(response, 422, "VALIDATION_FAILED")


def test_every_request_body_is_a_body_and_so_checks_its_dates(runtime: Runtime) -> None:
    """The class of fault: a request schema that skipped ``Body`` would skip the calendar."""
    app = create_app(runtime=runtime)
    for route in app.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            model = route.body_field.type_
            if isinstance(model, type):
                assert issubclass(model, Body), f"{route.path}: {model} is not a Body"


@pytest.mark.parametrize("lean", ["claim", "redemption", "documented"])
def test_deep_json_is_refused_on_every_path(world: World, lean: str) -> None:
    if lean == "claim":
        _, bid = issuance.open_fcfs_batch(world)
        citizen = issuance.register(world)
        path, headers = f"/api/v1/batches/{bid}/claims", issuance.citizen_headers(world, citizen)
        bodies = [DEEP, DEEP_OBJECT]
    elif lean == "redemption":
        path, headers = "/api/v1/redemptions", {"Authorization": "Bearer qk_key_x"}
        bodies = [DEEP, b'{"code":' + DEEP + b"}"]
    else:
        path, headers = "/api/v1/funders", world.headers("operator")
        bodies = [DEEP]
    for body in bodies:
        response = world.client.post(
            path, content=body, headers={**headers, "content-type": "application/json"}
        )
        _problem(response, 422, "JSON_TOO_DEEP")


def test_brackets_inside_strings_do_not_count_as_depth(world: World) -> None:
    response = world.post("operator", "/funders", {"name": "[" * 200, "kind": "department"})
    assert response.status_code == 201, response.text


# --- a real server: keep-alive survives refusals; a slow body is cut off ----------------------


@pytest.fixture
def server(runtime: Runtime) -> Iterator[int]:
    runtime.settings.body_timeout_seconds = 1.0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not served.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    served.should_exit = True
    thread.join(10)


def test_refusals_keep_the_connection_alive(server: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    for path, body in [("/api/v1/public/programs/prg_%00", None),
                       ("/api/v1/redemptions", DEEP), ("/api/v1/funders", b'{"name":"\\u0000"}')]:
        headers = {"content-type": "application/json", "Authorization": "Bearer qk_key_x"}
        connection.request("POST" if body else "GET", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 422
        assert response.getheader("connection") != "close"
    connection.request("GET", "/api/v1/health")
    response = connection.getresponse()
    assert response.status == 200
    assert response.read()
    connection.close()


def test_a_body_that_never_finishes_is_cut_off_with_408(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/funders HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na")
        started = time.monotonic()
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
        waited = time.monotonic() - started
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert b"REQUEST_TIMEOUT" in received
    assert waited < 5  # answered and closed at the deadline (1 s here), not held open
