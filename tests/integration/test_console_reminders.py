"""Reminders in the console: the program's reminder page (linked from the program page) shows
and changes the rules in both languages, refusing bad input in words; the wallet's switch turns
SMS reminders off and on."""

from __future__ import annotations

from tests.conftest import World
from tests.integration.console_fixtures import citizen_session, staff_session, submit
from tests.integration.issuance_fixtures import citizen_headers, funded_program, register


def test_an_operator_sets_the_programs_reminders_from_its_page(world: World) -> None:
    pid = funded_program(world)
    staff_session(world, "operator")
    program = world.client.get(f"/ops/programs/{pid}")
    assert f'href="/ops/programs/{pid}/reminders"' in program.text
    page = world.client.get(f"/ops/programs/{pid}/reminders")
    assert page.status_code == 200
    assert "到期前 7, 1 天" in page.text
    assert "21:00 – 08:00" in page.text
    form = f"/ops/programs/{pid}/reminders"
    bad = submit(world, form, {"offsets": "7, 0", "on_claim": "on"}, page=form)
    assert bad.status_code == 422
    assert 'data-field="offsets"' in bad.text
    assert 'aria-invalid="true"' in bad.text
    assert "到期提醒最多 5 个" in bad.text
    late = submit(world, form, {"offsets": "7", "quiet": "on", "quiet_start": "25:00"}, page=form)
    assert late.status_code == 422
    assert 'data-field="quiet_start"' in late.text
    done = submit(
        world,
        form,
        {
            "offsets": "14，3",
            "on_claim": "on",
            "lottery_results": "on",
            "quiet": "on",
            "quiet_start": "22:30",
            "quiet_end": "07:00",
        },
        page=form,
    )
    assert done.status_code == 303
    rules = world.get("auditor", f"/programs/{pid}/reminders").json()
    assert rules["expiry_offsets_days"] == [14, 3]
    assert (rules["on_claim"], rules["on_redemption"], rules["lottery_results"]) == (
        True,
        False,
        True,
    )
    assert rules["quiet_hours"] == {"start": "22:30", "end": "07:00"}
    world.client.cookies.set("quan_lang", "en")
    english = world.client.get(f"/ops/programs/{pid}/reminders?done=saved")
    assert "Reminder settings saved." in english.text
    assert "22:30 – 07:00" in english.text
    staff_session(world, "auditor")
    read_only = world.client.get(f"/ops/programs/{pid}/reminders")
    assert read_only.status_code == 200
    assert 'data-test="reminders-form"' not in read_only.text
    assert submit(world, form, {"offsets": "1"}, page=form).status_code == 403


def test_a_citizen_turns_sms_reminders_off_and_on_in_the_wallet(world: World) -> None:
    citizen = register(world)
    citizen_session(world, citizen)
    wallet = world.client.get("/wallet")
    assert 'data-test="notices-sms" checked' in wallet.text
    off = submit(world, "/wallet/notifications", {}, page="/wallet")
    assert off.status_code == 303
    headers = citizen_headers(world, citizen)
    assert world.client.get("/api/v1/me/notifications", headers=headers).json()["sms"] is False
    wallet = world.client.get("/wallet?notices=saved")
    assert 'data-test="notices-sms" checked' not in wallet.text
    assert 'data-test="notices-saved"' in wallet.text
    assert submit(world, "/wallet/notifications", {"sms": "on"}, page="/wallet").status_code == 303
    assert world.client.get("/api/v1/me/notifications", headers=headers).json()["sms"] is True
