"""The merchant portal (``/merchant``): applying by form, the owner's sign-in by SMS code, the
review outcome and an appeal, terminals, and each merchant confined to its own data. Through
the app (TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from quan.domain.merchants import Scene
from quan.domain.uscc import INVALID_USCC
from quan.services.merchants import merchants as merchant_service
from quan.services.merchants.appeals import APPEAL_NOT_ALLOWED
from quan.services.merchants.pairing import REVOKE_UNCONFIRMED
from quan.services.people.otp import OTP_ALREADY_USED, OTP_INVALID
from quan.store.merchant_tables import merchants, terminals
from quan.store.portal_tables import merchant_appeals, merchant_otps
from quan.web.i18n import Translator
from quan.web.session import Area
from tests.conftest import World
from tests.integration.citizen_fixtures import last_code, sms_to
from tests.integration.console_fixtures import staff_session, submit
from tests.integration.merchant_fixtures import ACCOUNT_DIGITS, uscc
from tests.integration.portal_fixtures import (
    apply_by_form,
    approve,
    ask_code,
    form,
    merchant_id_of_session,
    new_phone,
    owner_sign_in,
    send_code,
    sign_out_owner,
    token_on,
)

ZH, EN = Translator("zh"), Translator("en")


def _count(world: World, table: object, **where: object) -> int:
    with world.runtime.db.read() as tx:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        for column, value in where.items():
            query = query.where(table.c[column] == value)  # type: ignore[attr-defined]
        return int(tx.execute(query).scalar_one())


def test_a_shop_applies_by_form_and_follows_its_review_signed_in(world: World) -> None:
    merchant_id, sent = apply_by_form(world)
    page = world.client.get("/merchant")
    assert page.status_code == 200
    assert ZH("portal.status_says.submitted") in page.text
    assert "****" + ACCOUNT_DIGITS[-4:] in page.text
    assert ACCOUNT_DIGITS not in page.text
    assert sent["contact_phone"] not in page.text
    with world.runtime.db.read() as tx:
        row = tx.execute(select(merchants).where(merchants.c.id == merchant_id)).one()
    # Sealed and hashed, never in clear.
    assert ACCOUNT_DIGITS not in row.bank_account_token
    assert row.contact_phone_hash
    assert sent["contact_phone"] not in row.contact_phone_hash
    # The session is the API's credential too: the owner reads its record.
    token = world.client.cookies.get(Area.OWNER.cookie)
    mine = world.client.get("/api/v1/merchants/mine", headers={"Authorization": f"Bearer {token}"})
    assert (mine.status_code, mine.json()["id"]) == (200, merchant_id)


def test_a_double_submit_of_the_application_form_applies_once(world: World) -> None:
    sent = form(world)
    first = submit(world, "/merchant/apply", sent, page="/merchant/apply")
    second = submit(world, "/merchant/apply", sent, page="/merchant/apply")
    assert (first.status_code, second.status_code) == (303, 303)
    assert _count(world, merchants, uscc=sent["uscc"].upper()) == 1
    assert merchant_id_of_session(world)


def test_a_wrong_uscc_is_said_next_to_its_field_and_nothing_is_written(world: World) -> None:
    bad = uscc()[:-1] + ("0" if uscc()[-1] != "0" else "1")
    before = _count(world, merchants)
    response = submit(world, "/merchant/apply", form(world, uscc=bad), page="/merchant/apply")
    assert response.status_code == 422
    assert 'data-test="field-error"' in response.text
    assert (
        'name="uscc" required maxlength="40" autocapitalize="characters" spellcheck="false" value="'
        + bad
        in response.text
    )
    assert 'aria-invalid="true"' in response.text
    assert INVALID_USCC.zh.split("{")[0][:6] in response.text
    assert _count(world, merchants) == before
    assert world.client.cookies.get(Area.OWNER.cookie) is None


def test_the_owner_signs_in_with_the_contact_phone_and_an_sms_code(world: World) -> None:
    merchant_id, sent = apply_by_form(world)
    phone = sent["contact_phone"]
    sign_out_owner(world)
    assert world.client.get("/merchant", follow_redirects=False).headers["location"] == (
        "/merchant/signin?next=/merchant"
    )
    asked = ask_code(world, phone)
    assert ZH("portal.code_sent") in asked.text
    code = last_code(world, phone)
    # A wrong code is refused in words, and counted.
    wrong = send_code(world, phone, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 401
    assert OTP_INVALID.zh.split("，")[0] in wrong.text
    done = send_code(world, phone, code)
    assert (done.status_code, done.headers["location"]) == (303, "/merchant")
    assert merchant_id_of_session(world) == merchant_id
    # The code is used once.
    sign_out_owner(world)
    again = send_code(world, phone, code)
    assert again.status_code == 401
    assert OTP_ALREADY_USED.zh in again.text
    # Only HMACs of codes are stored.
    with world.runtime.db.read() as tx:
        hashes = tx.execute(select(merchant_otps.c.code_hash)).scalars().all()
    assert hashes
    assert all(code not in h for h in hashes)


def test_a_phone_that_is_no_merchants_gets_the_same_answer_and_no_sms(world: World) -> None:
    stranger = new_phone()
    asked = ask_code(world, stranger)
    assert asked.status_code == 200
    assert ZH("portal.code_sent") in asked.text
    assert sms_to(world, stranger) == []
    refused = send_code(world, stranger, "123456")
    assert refused.status_code == 401
    assert world.client.cookies.get(Area.OWNER.cookie) is None


def test_a_phone_of_two_merchants_chooses_one_and_only_its_own(world: World) -> None:
    phone = new_phone()
    first, _ = apply_by_form(world, contact_phone=phone)
    second, _ = apply_by_form(world, contact_phone=phone, name="知味小吃二店")
    other, _ = apply_by_form(world)
    chooser = owner_sign_in(world, phone)
    assert chooser.status_code == 200
    assert f'data-test="choose-{first}"' in chooser.text
    assert f'data-test="choose-{second}"' in chooser.text
    assert other not in chooser.text
    stolen = submit(world, "/merchant/choose", {"merchant_id": other}, page="/merchant/signin")
    assert stolen.headers["location"] == "/merchant/signin"
    assert world.client.cookies.get(Area.OWNER.cookie) is None
    chosen = submit(world, "/merchant/choose", {"merchant_id": second}, page="/merchant/signin")
    assert chosen.headers["location"] == "/merchant"
    assert merchant_id_of_session(world) == second


def test_a_merchant_applied_before_the_phone_hash_existed_still_signs_in(world: World) -> None:
    phone = new_phone()
    now = world.runtime.clock.now()
    with world.runtime.db.write() as tx:  # as older code and the demo apply: no hash kept
        merchant, _ = merchant_service.apply(
            tx,
            now,
            merchant_service.sealing_key(world.runtime.settings),
            merchant_service.NewMerchant(
                issuer_id=world.issuer.id,
                name="老店",
                uscc=uscc(),
                categories=["catering"],
                region_code="330106",
                scenes=[Scene.OFFLINE],
                bank_name="银行",
                account_number="62220212345678",
                contact_phone=phone,
            ),
        )
    assert _count(world, merchants, contact_phone_hash=None) >= 1
    done = owner_sign_in(world, phone)
    assert done.headers["location"] == "/merchant"
    assert merchant_id_of_session(world) == merchant.id


def test_a_rejection_is_explained_and_appealed_once_back_into_review(world: World) -> None:
    merchant_id, _ = apply_by_form(world)
    rejected = world.post(
        "operator",
        f"/merchants/{merchant_id}/review",
        {"decision": "reject", "reason": "营业执照照片不清晰"},
    )
    assert rejected.status_code == 200
    page = world.client.get("/merchant")
    assert "营业执照照片不清晰" in page.text
    assert ZH("portal.status_says.rejected") in page.text
    assert 'data-test="appeal"' in page.text
    empty = submit(world, "/merchant/appeal", {"grounds": "  "}, page="/merchant")
    assert empty.status_code == 422
    filed = submit(world, "/merchant/appeal", {"grounds": "已上传清晰的营业执照"}, page="/merchant")
    assert filed.headers["location"] == "/merchant?done=appealed"
    page = world.client.get("/merchant")
    assert ZH("portal.status_says.submitted") in page.text
    assert "已上传清晰的营业执照" in page.text
    assert 'data-test="appeal"' not in page.text
    again = submit(world, "/merchant/appeal", {"grounds": "再申诉一次"}, page="/merchant")
    assert again.status_code == 409
    assert APPEAL_NOT_ALLOWED.zh in again.text
    assert _count(world, merchant_appeals, merchant_id=merchant_id) == 1
    # The office sees it back in the queue, with the grounds.
    staff_session(world, "operator")
    assert merchant_id in world.client.get("/ops/merchants?queue=submitted").text
    assert "已上传清晰的营业执照" in world.client.get(f"/ops/merchants/{merchant_id}").text
    # Rejected again: a new rejection may be appealed once more.
    world.post(
        "operator", f"/merchants/{merchant_id}/review", {"decision": "reject", "reason": "仍不清晰"}
    )
    second = submit(world, "/merchant/appeal", {"grounds": "第二次申诉"}, page="/merchant")
    assert second.headers["location"] == "/merchant?done=appealed"


def test_terminals_are_added_once_renamed_and_revoked_only_when_confirmed(world: World) -> None:
    merchant_id, _ = apply_by_form(world)
    page = world.client.get("/merchant/terminals")
    assert ZH("portal.terminals_need_approval") in page.text
    refused = submit(
        world,
        "/merchant/terminals",
        {"label": "前台", "create_key": "k" * 16},
        page="/merchant/terminals",
    )
    assert refused.status_code == 409
    assert 'data-test="portal-error"' in refused.text
    approve(world, merchant_id)
    key = token_on(world.client.get("/merchant/terminals").text)
    for _ in range(2):  # a double submit
        added = submit(
            world,
            "/merchant/terminals",
            {"label": "前台 1 号", "create_key": key},
            page="/merchant/terminals",
        )
        assert added.headers["location"] == "/merchant/terminals?done=terminal_created"
    assert _count(world, terminals, merchant_id=merchant_id) == 1
    with world.runtime.db.read() as tx:
        terminal_id = tx.execute(
            select(terminals.c.id).where(terminals.c.merchant_id == merchant_id)
        ).scalar_one()
    renamed = submit(
        world,
        f"/merchant/terminals/{terminal_id}/rename",
        {"label": "二楼收银台"},
        page="/merchant/terminals",
    )
    assert renamed.status_code == 303
    assert "二楼收银台" in world.client.get("/merchant/terminals").text
    unconfirmed = submit(
        world, f"/merchant/terminals/{terminal_id}/revoke", {}, page="/merchant/terminals"
    )
    assert unconfirmed.status_code == 422
    assert REVOKE_UNCONFIRMED.zh in unconfirmed.text
    revoked = submit(
        world,
        f"/merchant/terminals/{terminal_id}/revoke",
        {"confirm": "yes"},
        page="/merchant/terminals",
    )
    assert revoked.headers["location"] == "/merchant/terminals?done=terminal_revoked"
    with world.runtime.db.read() as tx:
        assert (
            tx.execute(
                select(terminals.c.revoked_at).where(terminals.c.id == terminal_id)
            ).scalar_one()
            is not None
        )


def test_another_merchants_terminals_are_invisible_and_untouchable(world: World) -> None:
    theirs, _ = apply_by_form(world)
    approve(world, theirs)
    key = token_on(world.client.get("/merchant/terminals").text)
    submit(
        world,
        "/merchant/terminals",
        {"label": "别人的收银台", "create_key": key},
        page="/merchant/terminals",
    )
    with world.runtime.db.read() as tx:
        their_terminal = tx.execute(
            select(terminals.c.id).where(terminals.c.merchant_id == theirs)
        ).scalar_one()
    mine, _ = apply_by_form(world)
    approve(world, mine)
    page = world.client.get("/merchant/terminals")
    assert their_terminal not in page.text
    assert "别人的收银台" not in page.text
    for action, data in (
        ("rename", {"label": "抢来的"}),
        ("revoke", {"confirm": "yes"}),
        ("pairing", {}),
    ):
        response = submit(
            world,
            f"/merchant/terminals/{their_terminal}/{action}",
            data,
            page="/merchant/terminals",
        )
        assert response.status_code == 404, action
        assert 'data-test="portal-error"' in response.text
    with world.runtime.db.read() as tx:
        row = tx.execute(select(terminals).where(terminals.c.id == their_terminal)).one()
    assert (row.label, row.revoked_at) == ("别人的收银台", None)


def test_portal_pages_read_in_english_too(world: World) -> None:
    apply_by_form(world)
    world.client.get("/prefs?lang=en&next=/")
    assert "waiting for the issuer" in world.client.get("/merchant").text
    assert EN("portal.apply") in world.client.get("/merchant/apply").text
    assert EN("portal.signin") in world.client.get("/merchant/signin").text


def test_two_appeals_of_one_rejection_at_once_file_one(world: World) -> None:
    from quan.domain.auth import Actor
    from quan.domain.errors import QuanError
    from quan.services.merchants import appeals
    from tests.race import race

    merchant_id, _ = apply_by_form(world)
    world.post(
        "operator",
        f"/merchants/{merchant_id}/review",
        {"decision": "reject", "reason": "资料不全"},
    )
    owner = Actor(kind="merchant", id=merchant_id, role="merchant", merchant_id=merchant_id)
    rt = world.runtime

    def appeal() -> object:
        with rt.db.write() as tx:
            return appeals.file_appeal(tx, rt.clock.now(), owner, merchant_id, "已补全")

    results = race(appeal, appeal)
    errors = [r for r in results if isinstance(r, QuanError)]
    assert len(errors) == 1, results
    assert errors[0].code == "APPEAL_NOT_ALLOWED"
    assert _count(world, merchant_appeals, merchant_id=merchant_id) == 1


def test_the_database_refuses_a_second_appeal_of_one_rejection_when_the_status_check_is_got_round(
    world: World,
) -> None:
    """The merchant's row lock and status check refuse a second appeal; with them got round (the
    merchant put back to ``rejected`` without a new review), the unique key on the appealed
    review still refuses it: one rejection, one appeal."""
    from quan.domain.auth import Actor
    from quan.domain.errors import QuanError
    from quan.services.merchants import appeals

    merchant_id, _ = apply_by_form(world)
    world.post(
        "operator",
        f"/merchants/{merchant_id}/review",
        {"decision": "reject", "reason": "资料不全"},
    )
    owner = Actor(kind="merchant", id=merchant_id, role="merchant", merchant_id=merchant_id)
    rt = world.runtime
    with rt.db.write() as tx:
        appeals.file_appeal(tx, rt.clock.now(), owner, merchant_id, "已补全")
    with rt.db.write() as tx:
        tx.execute(
            merchants.update().where(merchants.c.id == merchant_id).values(status="rejected")
        )
    with pytest.raises(QuanError) as refused, rt.db.write() as tx:
        appeals.file_appeal(tx, rt.clock.now(), owner, merchant_id, "再次申诉")
    assert refused.value.code == "APPEAL_NOT_ALLOWED"
    assert _count(world, merchant_appeals, merchant_id=merchant_id) == 1
