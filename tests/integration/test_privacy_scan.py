"""Privacy scan (issue 26, issue 13): a scenario touches several citizens in every way the
platform knows (self-registration with an SMS code, through the API and the wallet's pages, one
refused by the real-name check; registration by an operator, an eligibility
import, sign-in codes, lookups, a reveal, claims, the log, the auditor's exports); then every
personal value of every one of them (ID number, name, phone, each sign-in code they were sent)
is looked for in every table, in every log line the server wrote, in every access-log line (the
request lines a server logs: method, path and query), in every export and in the public log.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from quan.domain.consent import SELF_REGISTRATION
from quan.store.db import Database
from quan.store.schema import metadata
from quan.store.selfreg_tables import self_registrations
from tests.citizen_samples import Person, csv_bytes, resident_id
from tests.conftest import World
from tests.integration.citizen_fixtures import ask_code, body, last_code, session
from tests.integration.issuance_fixtures import claim, open_fcfs_batch
from tests.integration.transparency_fixtures import sequence


def _person(n: int, name: str) -> Person:
    return Person(
        resident_id=resident_id("330106", date(1950 + n, 3, 1 + n), 100 + n),
        name=name,
        phone=f"1377000{n:04d}",
        region_code="330106",
        income_group="low_income",
        disability_grade="2",
    )


SELF, STAFF, IMPORTED = _person(1, "欧阳明远"), _person(2, "司马静怡"), _person(3, "诸葛晓峰")
EVERYONE = (SELF, STAFF, IMPORTED)
# Self-registration in the wallet's pages, and one the real-name check refuses (the development
# provider's sequence 999): their attempts, consent and check outcomes are stored too.
WEB = _person(4, "慕容雪晴")
REFUSED = Person(
    resident_id=resident_id("330106", date(1958, 6, 6), 999),
    name="东方既白",
    phone="13770000005",
    region_code="330106",
    income_group="normal",
    disability_grade="",
)


def test_no_personal_value_of_any_citizen_is_stored_logged_or_exported_in_clear(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    access: list[str] = []
    world.client.event_hooks["request"].append(
        lambda request: access.append(f"{request.method} {request.url.raw_path.decode()}")
    )
    codes: list[str] = []
    exports: list[str] = []
    with caplog.at_level(logging.DEBUG):
        # Three ways in.
        assert ask_code(world, SELF.phone, "register").status_code == 202
        codes.append(last_code(world, SELF.phone))
        made = world.client.post("/api/v1/citizens", json=body(SELF, otp_code=codes[-1]))
        assert made.status_code == 201, made.text
        assert world.post("operator", "/citizens", body(STAFF)).status_code == 201
        for p in (WEB, REFUSED):
            codes.append(_register_in_the_wallet(world, p))
        imported = world.client.post(
            "/api/v1/citizens/imports",
            content=csv_bytes([IMPORTED]),
            headers=world.headers("operator", **{"Content-Type": "text/csv"}),
        )
        assert imported.status_code in (200, 201), imported.text
        # Each signs in; one is refused once with a wrong code.
        ids = {}
        for p in EVERYONE:
            assert ask_code(world, p.phone).status_code == 202
            codes.append(last_code(world, p.phone))
            if p is STAFF:
                wrong = f"{(int(codes[-1]) + 1) % 1_000_000:06d}"
                assert session(world, p.phone, wrong).status_code == 401
            signed = session(world, p.phone, codes[-1])
            assert signed.status_code == 200, signed.text
            ids[p] = signed.json()["citizen_id"]
        # Staff find and look at them.
        for p in EVERYONE:
            found = world.post("agent", "/citizens/lookup", {"resident_id": p.resident_id})
            assert found.status_code == 200, found.text
        assert world.post(
            "operator", f"/citizens/{ids[STAFF]}/reveal", {"purpose": "identity_check"}
        ).status_code == 200
        # A partner subscribes to claims (its deliveries are stored: issue 25, item 8).
        partner = world.post("admin", "/partner-clients", {"name": "wallet"}).json()
        token = world.client.post(
            "/api/v1/partner/token",
            json={"client_id": partner["id"], "client_secret": partner["client_secret"]},
        ).json()
        subscribed = world.client.post(
            "/api/v1/partner/subscriptions",
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["voucher.claimed"]},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert subscribed.status_code == 201
        # They claim; the log is sequenced; the auditor exports.
        pid, bid = open_fcfs_batch(world, quantity=5)
        for p in EVERYONE:
            assert claim(world, ids[p], bid).status_code == 201
        # The reminders job notifies each claim (reminders rows, sealed outbox messages).
        from quan.jobs import reminders as reminder_job

        assert reminder_job.run_once(world.runtime, "scan").sent == len(EVERYONE)
        sequence(world.runtime)
        # A notice to the holders, released to the outbox (item 7), and the partner's deliveries.
        from quan.services.delivery import notify_jobs

        notice = {"audience": "program", "title_zh": "通知", "title_en": "Notice"}
        notice |= {"body_zh": "正文", "body_en": "Text"}
        made = world.post("operator", f"/programs/{pid}/announcements", notice)
        assert made.status_code == 201
        assert notify_jobs.release_announcements(world.runtime, "scan") == 3
        assert notify_jobs.fan_out(world.runtime, "scan") == 3
        size = int(world.client.get("/api/v1/audit/checkpoint").text.splitlines()[1])
        entries = world.client.get("/api/v1/audit/entries", params={"start": 0, "end": size - 1})
        exports.extend(base64.b64decode(e["data"]).decode() for e in entries.json())
        auditor = world.headers("auditor")
        exports.append(world.client.get("/api/v1/events", headers=auditor).text)
        from tests.integration.console_fixtures import staff_session

        staff_session(world, "auditor")
        for path in ("/auditor/export/budgets.csv", "/auditor/export/log-entries.jsonl"):
            answer = world.client.get(path)
            assert answer.status_code == 200, path
            exports.append(answer.text)

    tables = _every_table(world)
    logged = "\n".join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    )
    places = {"tables": tables, "server log": logged, "access log": "\n".join(access),
              "exports and public log": "\n".join(exports)}  # fmt: skip
    values = [v for p in (*EVERYONE, WEB, REFUSED) for v in (p.resident_id, p.name, p.phone)]
    leaks = [
        (where, _shown(value))
        for where, text in places.items()
        for value in values
        if value in text
    ] + [
        (where, "sign-in code")
        for where, text in places.items()
        for code in codes
        if re.search(rf"(?<![0-9A-Za-z._:+-]){code}(?![0-9A-Za-z])", text)
    ]
    assert len(codes) == 6
    assert tables
    with world.runtime.db.read() as tx:
        attempts = sorted(r.status for r in tx.execute(select(self_registrations)))
    assert attempts == ["refused", "registered", "registered"]  # scanned with the rest
    assert leaks == []


def _register_in_the_wallet(world: World, p: Person) -> str:
    """Register ``p`` through the wallet's pages; the code they were sent."""
    from tests.integration.console_fixtures import csrf, submit

    page = submit(world, "/wallet/register/code", {"phone": p.phone}, page="/wallet/register")
    key = re.search(r'name="submission_key" value="([^"]+)"', page.text)
    assert key, "no register form"
    code = last_code(world, p.phone)
    form = {
        "csrf": csrf(world, "/wallet/register"),
        "phone": p.phone,
        "code": code,
        "name": p.name,
        "resident_id": p.resident_id,
        "region": p.region_code,
        "consent": "yes",
        "consent_version": SELF_REGISTRATION.version,
        "submission_key": key.group(1),
    }
    answer = world.client.post("/wallet/register", data=form, follow_redirects=False)
    assert answer.status_code == (422 if p is REFUSED else 303), answer.text[-500:]
    return code


def _shown(value: str) -> str:
    return value[:3] + "…"  # a failure message must not print the value either


def _every_table(world: World) -> str:
    return table_text(world.runtime.db)


def table_text(db: Database) -> str:
    """Every cell of every table, as text (bytes in hex), one per line."""
    cells: list[str] = []
    with db.read() as tx:
        for table in metadata.sorted_tables:
            for row in tx.execute(select(table)):
                cells.extend(_text(v) for v in row if v is not None)
    return "\n".join(cells)


CODE_TOKEN = re.compile(r"(?<![0-9A-Za-z._:+-])([0-9]{6})(?![0-9A-Za-z])")


def clear_values_in(db: Database, values: Iterable[str], codes: Iterable[str]) -> list[str]:
    """Which ``values`` (phone numbers, addresses, names: anywhere in any cell) and ``codes``
    (six digits standing alone) are in clear in the database, cut short (never shown whole).
    Fast for thousands of values: numbers are looked for inside the runs of digits, addresses
    inside the runs around an ``@``, anything else by itself."""
    text = table_text(db)
    values = set(values)
    numbers = {v for v in values if v.isdigit()}
    addresses = {v for v in values - numbers if "@" in v}
    found = {v for v in values - numbers - addresses if v in text}
    for wanted, runs in (
        (numbers, re.findall(r"[0-9]+", text)),
        (addresses, re.findall(r"[^\s\"',;:<>()\[\]{}]*@[^\s\"',;:<>()\[\]{}]*", text)),
    ):
        for size in {len(v) for v in wanted}:
            found |= {
                run[i : i + size]
                for run in runs
                if len(run) >= size
                for i in range(len(run) - size + 1)
            } & wanted
    found |= set(CODE_TOKEN.findall(text)) & set(codes)
    return sorted(_shown(value) for value in found)


def _text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)


def test_no_merchant_owners_phone_account_or_code_is_stored_or_logged_in_clear(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The merchant portal (issue 15): an owner applies by form, signs in by SMS code (one
    wrong try), and pairs a device by QR code; the phone, the account number and the codes
    are then looked for everywhere (the pairing code in the tables: it is stored hashed)."""
    from tests.integration.console_fixtures import submit
    from tests.integration.portal_fixtures import (
        apply_by_form,
        approve,
        send_code,
        sign_out_owner,
        token_on,
    )
    from tests.integration.portal_fixtures import (
        ask_code as ask_owner_code,
    )

    access: list[str] = []
    world.client.event_hooks["request"].append(
        lambda request: access.append(f"{request.method} {request.url.raw_path.decode()}")
    )
    phone, account = "13966660001", "6222 0299 8877 6655 443"
    with caplog.at_level(logging.DEBUG):
        merchant_id, _ = apply_by_form(world, contact_phone=phone, account_number=account)
        approve(world, merchant_id)
        sign_out_owner(world)
        assert ask_owner_code(world, phone).status_code == 200
        code = last_code(world, phone)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        assert send_code(world, phone, wrong).status_code == 401
        assert send_code(world, phone, code).status_code == 303
        key = token_on(world.client.get("/merchant/terminals").text)
        submit(
            world,
            "/merchant/terminals",
            {"label": "前台", "create_key": key},
            page="/merchant/terminals",
        )
        page = world.client.get("/merchant/terminals").text
        terminal_id = re.search(r'data-terminal="([^"]+)"', page)
        assert terminal_id
        offer = submit(
            world, f"/merchant/terminals/{terminal_id.group(1)}/pairing", page="/merchant/terminals"
        )
        found = re.search(r'data-pair-url="[^"]+code=([^"]+)"', offer.text)
        assert found
        pairing_code = found.group(1)
        world.client.cookies.clear()
        assert submit(world, "/cashier/pair", {"code": pairing_code}).status_code == 303
    tables = _every_table(world)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    digits = account.replace(" ", "")
    for where, text in {"tables": tables, "server log": logged,
                        "access log": "\n".join(access)}.items():  # fmt: skip
        for value in (phone, digits, account):
            assert value not in text, (where, _shown(value))
        assert not re.search(rf"(?<![0-9A-Za-z._:+-]){code}(?![0-9A-Za-z])", text), where
    assert pairing_code not in tables
