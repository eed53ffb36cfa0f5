"""Helpers for the citizen tests: registration bodies, registering, signing in by SMS code."""

from __future__ import annotations

import re
from typing import Any

from quan.domain.consent import SELF_REGISTRATION
from tests.citizen_samples import Person, people
from tests.conftest import World

_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def person(index: int = 0, seed: int = 7) -> Person:
    """The ``index``-th synthetic person of a reproducible crowd."""
    for i, p in enumerate(people(index + 1, seed=seed)):
        if i == index:
            return p
    raise AssertionError("unreachable")


def body(p: Person, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "resident_id": p.resident_id,
        "name": p.name,
        "phone": p.phone,
        "region_code": p.region_code,
    }
    if "otp_code" in overrides:  # self-registration: the citizen accepts the current notice
        values["consent_version"] = SELF_REGISTRATION.version
    values.update(overrides)
    return values


def register(world: World, p: Person, who: str = "operator", **overrides: Any) -> dict[str, Any]:
    response = world.post(who, "/citizens", body(p, **overrides))
    assert response.status_code == 201, response.text
    citizen: dict[str, Any] = response.json()
    return citizen


def sms_to(world: World, phone: str) -> list[dict[str, Any]]:
    """Messages the outbox holds for ``phone``, newest first (through the dev endpoint)."""
    response = world.get("admin", "/dev/outbox", limit=200)
    assert response.status_code == 200, response.text
    return [
        m for m in response.json()["items"] if m["channel"] == "sms" and m["recipient"] == phone
    ]


def last_code(world: World, phone: str) -> str:
    messages = sms_to(world, phone)
    assert messages, f"no SMS for {phone[:3]}…"
    found = _CODE.search(messages[0]["body"])
    assert found, "the SMS carries no code"
    return found.group(1)


def ask_code(world: World, phone: str, purpose: str = "login") -> Any:
    return world.client.post("/api/v1/citizens/otp", json={"phone": phone, "purpose": purpose})


def session(world: World, phone: str, code: str) -> Any:
    return world.client.post("/api/v1/citizens/session", json={"phone": phone, "code": code})


def sign_in(world: World, phone: str) -> dict[str, str]:
    """Sign a registered citizen in through the SMS flow; their Authorization header."""
    assert ask_code(world, phone).status_code == 202
    response = session(world, phone, last_code(world, phone))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
