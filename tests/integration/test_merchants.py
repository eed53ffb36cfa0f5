"""Merchant onboarding: anyone applies, the issuer's operators review, every decision is
attributed and evented, and confidential fields never leave the database in clear."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from quan.channels import outbox
from quan.services.merchants import merchants as merchant_service
from quan.services.people import pii
from quan.services.people.citizens import CitizenKeys
from quan.store.merchant_tables import merchants
from quan.store.schema import metadata
from quan.store.tables import events
from tests.conftest import World
from tests.integration.merchant_fixtures import (
    ACCOUNT_DIGITS,
    NAME,
    PHONE,
    advance,
    application,
    apply,
    approved,
    get_as,
    review,
    uscc,
)


def _snapshot(world: World) -> dict[str, int]:
    with world.runtime.db.read() as tx:
        return {
            t.name: int(tx.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
            if t.name != "throttle_counters"  # attempt counters: not the application's state
        }


def _key(world: World) -> bytes:
    return merchant_service.pii_key(world.runtime.settings.secret_bytes("pii_key"))


def _events(world: World, subject_id: str) -> list[dict[str, Any]]:
    with world.runtime.db.read() as tx:
        rows = tx.execute(
            select(events).where(events.c.subject_id == subject_id).order_by(events.c.id)
        ).all()
    return [{**r._mapping, "payload": json.loads(r.payload)} for r in rows]


def test_anyone_may_apply_and_gets_a_submitted_merchant_with_its_owner_key(world: World) -> None:
    response = world.client.post(
        "/api/v1/merchants",
        json=application(world, categories=["catering", "tourism"], scenes=["offline", "online"]),
    )
    assert response.status_code == 201, response.text
    merchant = response.json()["merchant"]
    assert merchant["status"] == "submitted"
    assert merchant["name"] == NAME
    assert merchant["categories"] == ["catering", "tourism"]
    assert sorted(merchant["scenes"]) == ["offline", "online"]
    assert merchant["next_review_due_at"] is None
    owner_key = response.json()["owner_key"]["api_key"]
    own = get_as(world, owner_key, f"/merchants/{merchant['id']}")
    assert own.status_code == 200
    assert own.json()["status"] == "submitted"
    assert get_as(world, owner_key, "/merchants/mine").json()["id"] == merchant["id"]


def test_bank_account_and_phone_are_stored_encrypted_and_shown_masked(world: World) -> None:
    merchant, _ = apply(world)
    assert merchant["bank_account_masked"] == "****" + ACCOUNT_DIGITS[-4:]
    assert merchant["contact_phone_masked"] == "138****5678"
    with world.runtime.db.read() as tx:
        row = tx.execute(select(merchants).where(merchants.c.id == merchant["id"])).one()
        clear = merchant_service.payout_account(tx, _key(world), merchant["id"])
    stored = " ".join(str(v) for v in row._mapping.values())
    assert ACCOUNT_DIGITS not in stored
    assert PHONE not in stored
    assert clear.account_number == ACCOUNT_DIGITS
    aad = f"merchant:{merchant['id']}:contact_phone"
    assert pii.decrypt(_key(world), row.contact_phone_token, aad) == PHONE


def test_a_bank_account_token_copied_to_another_merchant_does_not_decrypt(world: World) -> None:
    first, _ = apply(world)
    second, _ = apply(world, bank_account={"bank_name": "农业银行", "account_number": "12345678"})
    with world.runtime.db.write() as tx:
        token = tx.execute(
            select(merchants.c.bank_account_token).where(merchants.c.id == first["id"])
        ).scalar_one()
        tx.execute(
            update(merchants).where(merchants.c.id == second["id"]).values(bank_account_token=token)
        )
    with world.runtime.db.read() as tx, pytest.raises(pii.DecryptionError):
        merchant_service.payout_account(tx, _key(world), second["id"])


@pytest.mark.parametrize(
    "code",
    ["A1110000MB0000001M", "N2330106MF1234567L", "Y1440300MC00000000", "91350100M000100Y43"],
)
def test_valid_codes_of_letter_registration_authorities_are_accepted(
    world: World, code: str
) -> None:
    merchant, _ = apply(world, uscc=code)
    assert merchant["uscc"] == code


def test_the_uscc_is_stored_normalized(world: World) -> None:
    code = uscc()
    merchant, _ = apply(world, uscc=f" {code[:9].lower()} {code[9:]} ")
    assert merchant["uscc"] == code


def _with_bank(number: str) -> dict[str, Any]:
    return {"bank_account": {"bank_name": "工商银行", "account_number": number}}


BAD_APPLICATIONS: list[tuple[str, dict[str, Any], int, str]] = [
    ("uscc check character", {"uscc": "91350100M000100Y44"}, 422, "INVALID_USCC"),
    ("uscc too short", {"uscc": "91350100M000100Y4"}, 422, "INVALID_USCC"),
    ("uscc with O", {"uscc": "91350100MO00100Y43"}, 422, "INVALID_USCC"),
    ("unknown category", {"categories": ["catering", "casino"]}, 422, "UNKNOWN_CATEGORY"),
    ("no category", {"categories": []}, 422, "MERCHANT_CATEGORY_REQUIRED"),
    ("no scene", {"scenes": []}, 422, "MERCHANT_SCENE_REQUIRED"),
    ("unknown scene", {"scenes": ["teleport"]}, 422, "VALIDATION_FAILED"),
    ("region not six digits", {"region_code": "33010"}, 422, "INVALID_REGION_CODE"),
    ("region letters", {"region_code": "33010x"}, 422, "INVALID_REGION_CODE"),
    ("region of another city", {"region_code": "330203"}, 422, "REGION_OUTSIDE_ISSUER"),
    ("region of nowhere", {"region_code": "999999"}, 422, "REGION_OUTSIDE_ISSUER"),
    ("account with letters", _with_bank("6222 02AB 3456"), 422, "INVALID_BANK_ACCOUNT"),
    ("account too short", _with_bank("1234567"), 422, "INVALID_BANK_ACCOUNT"),
    ("account too long", _with_bank("1" * 33), 422, "INVALID_BANK_ACCOUNT"),
    ("full-width digits", _with_bank("６２２２０２１２３４"), 422, "INVALID_BANK_ACCOUNT"),
    (
        "no bank name",
        {"bank_account": {"bank_name": " ", "account_number": "62220212345678"}},
        422,
        "INVALID_BANK_ACCOUNT",
    ),
    ("no bank account", {"bank_account": None}, 422, "VALIDATION_FAILED"),
    ("landline phone", {"contact_phone": "0571-87654321"}, 422, "INVALID_CONTACT_PHONE"),
    ("short phone", {"contact_phone": "1381234567"}, 422, "INVALID_CONTACT_PHONE"),
    ("blank name", {"name": "   "}, 422, "INVALID_MERCHANT_NAME"),
    ("name too long", {"name": "店" * 201}, 422, "INVALID_MERCHANT_NAME"),
    ("unknown issuer", {"issuer_id": "iss_nosuchissuer"}, 404, "NOT_FOUND"),
    ("unknown field", {"vip": True}, 422, "VALIDATION_FAILED"),
]


@pytest.mark.parametrize(
    ("case", "change", "status", "code"), BAD_APPLICATIONS, ids=[c[0] for c in BAD_APPLICATIONS]
)
def test_a_bad_application_is_refused_with_its_code_and_writes_nothing(
    world: World, case: str, change: dict[str, Any], status: int, code: str
) -> None:
    before = _snapshot(world)
    response = world.client.post("/api/v1/merchants", json=application(world, **change))
    assert response.status_code == status, f"{case}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert _snapshot(world) == before


def test_a_second_live_application_by_the_same_body_is_refused(world: World) -> None:
    code = uscc()
    apply(world, uscc=code)
    before = _snapshot(world)
    again = world.client.post(
        "/api/v1/merchants", json=application(world, uscc=code.lower(), name="另一个名字")
    )
    assert again.status_code == 409
    assert again.json()["code"] == "MERCHANT_EXISTS"
    assert _snapshot(world) == before


def test_after_a_rejection_the_same_body_may_apply_again(world: World) -> None:
    code = uscc()
    first, _ = apply(world, uscc=code)
    assert review(world, first["id"], "reject", "营业执照已过期").status_code == 200
    second, _ = apply(world, uscc=code)
    assert second["id"] != first["id"]
    assert second["status"] == "submitted"


def test_the_same_body_may_join_the_schemes_of_two_issuers(world: World) -> None:
    code = uscc()
    apply(world, uscc=code)
    other, _ = apply(world, uscc=code, issuer_id=world.other_issuer.id, region_code="330203")
    assert other["issuer_id"] == world.other_issuer.id


def test_review_runs_submitted_approved_suspended_reinstated(world: World) -> None:
    merchant, _ = apply(world)
    steps = [
        ("approve", "", "approved"),
        ("suspend", "涉嫌套现，暂停核查", "suspended"),
        ("reinstate", "核查无异常", "approved"),
    ]
    for decision, reason, status in steps:
        response = review(world, merchant["id"], decision, reason)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        assert response.json()["reviewed_by"] == f"staff:{world.users['operator'].id}"
    history = world.get("operator", f"/merchants/{merchant['id']}/reviews").json()
    assert [(h["decision"], h["from_status"], h["to_status"]) for h in history] == [
        ("approve", "submitted", "approved"),
        ("suspend", "approved", "suspended"),
        ("reinstate", "suspended", "approved"),
    ]
    assert history[1]["reason"] == "涉嫌套现，暂停核查"


def test_a_rejection_keeps_its_reason_for_the_merchant_to_read(world: World) -> None:
    merchant, key = apply(world)
    review(world, merchant["id"], "reject", "  经营范围与申报类别不符 ")
    own = get_as(world, key, f"/merchants/{merchant['id']}").json()
    assert own["status"] == "rejected"
    assert own["status_reason"] == "经营范围与申报类别不符"
    history = get_as(world, key, f"/merchants/{merchant['id']}/reviews").json()
    assert history[0]["reason"] == "经营范围与申报类别不符"


def test_every_decision_is_an_event_naming_its_reviewer(world: World) -> None:
    merchant, _ = apply(world)
    review(world, merchant["id"], "approve")
    review(world, merchant["id"], "suspend", "复核", who="checker")
    recorded = _events(world, merchant["id"])
    assert [e["type"] for e in recorded] == [
        "merchant.applied",
        "api_key.created",
        "merchant.approved",
        "merchant.suspended",
    ]
    assert recorded[0]["actor"] == f"merchant:{merchant['id']}"
    assert recorded[2]["actor"] == f"staff:{world.users['operator'].id}"
    assert recorded[3]["actor"] == f"staff:{world.users['checker'].id}"
    assert recorded[3]["payload"]["from"] == "approved"
    assert recorded[3]["payload"]["to"] == "suspended"


def test_approval_sets_the_next_review_twelve_months_ahead(world: World) -> None:
    merchant, _ = approved(world)
    now = world.runtime.clock.now()
    due = datetime.fromisoformat(merchant["next_review_due_at"])
    assert due == now.replace(year=now.year + 1)
    advance(world, 300)
    renewed = review(world, merchant["id"], "renew").json()
    later = world.runtime.clock.now()
    assert datetime.fromisoformat(renewed["next_review_due_at"]) == later.replace(
        year=later.year + 1
    )
    suspended = review(world, merchant["id"], "suspend", "投诉较多").json()
    assert suspended["next_review_due_at"] is None


def test_merchants_due_for_re_review_are_listed_for_their_issuer(world: World) -> None:
    early, _ = approved(world)
    advance(world, 40)
    late, _ = approved(world)
    apply(world)  # submitted: never due
    ningbo, _ = apply(world, issuer_id=world.other_issuer.id, region_code="330203")
    review(world, ningbo["id"], "approve", who="outsider")

    def due(who: str, **params: Any) -> list[str]:
        response = world.get(who, "/merchants/review-due", **params)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["items"]]

    assert due("operator") == []
    assert due("operator", within_days=340) == [early["id"]]
    advance(world, 365)
    assert due("operator") == [early["id"], late["id"]]
    assert due("outsider") == [ningbo["id"]]
    assert set(due("auditor")) == {early["id"], late["id"], ningbo["id"]}
    review(world, early["id"], "renew")
    assert due("operator") == [late["id"]]
    for bad in (-1, 367, "soon"):
        refused = world.get("operator", "/merchants/review-due", within_days=bad)
        assert refused.status_code == 422
        assert refused.json()["code"] == "VALIDATION_FAILED"


# (decisions that lead to the status, that status, a decision it does not allow)
INVALID_TRANSITIONS: list[tuple[list[str], str, str]] = [
    (["reject"], "rejected", "suspend"),
    (["reject"], "rejected", "reinstate"),
    (["reject"], "rejected", "approve"),
    (["reject"], "rejected", "renew"),
    (["approve"], "approved", "approve"),
    (["approve"], "approved", "reject"),
    (["approve"], "approved", "reinstate"),
    ([], "submitted", "renew"),
    ([], "submitted", "suspend"),
    ([], "submitted", "reinstate"),
    (["approve", "suspend"], "suspended", "renew"),
    (["approve", "suspend"], "suspended", "approve"),
    (["approve", "suspend"], "suspended", "suspend"),
]


@pytest.mark.parametrize(("setup", "status", "decision"), INVALID_TRANSITIONS)
def test_a_decision_the_status_does_not_allow_is_refused_and_writes_nothing(
    world: World, setup: list[str], status: str, decision: str
) -> None:
    merchant, _ = apply(world)
    for step in setup:
        assert review(world, merchant["id"], step, "理由").status_code == 200
    before = _snapshot(world)
    response = review(world, merchant["id"], decision, "理由")
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "MERCHANT_TRANSITION_NOT_ALLOWED"
    assert (problem["merchant_status"], problem["decision"]) == (status, decision)
    assert _snapshot(world) == before


@pytest.mark.parametrize(("setup", "decision"), [([], "reject"), (["approve"], "suspend")])
def test_rejecting_or_suspending_needs_a_reason(
    world: World, setup: list[str], decision: str
) -> None:
    merchant, _ = apply(world)
    for step in setup:
        review(world, merchant["id"], step)
    before = _snapshot(world)
    for reason in ("", "   "):
        response = review(world, merchant["id"], decision, reason)
        assert response.status_code == 422
        assert response.json()["code"] == "REVIEW_REASON_REQUIRED"
    assert _snapshot(world) == before


def test_only_the_merchants_issuer_or_an_admin_may_review(world: World) -> None:
    merchant, key = apply(world)
    before = _snapshot(world)
    outsider = review(world, merchant["id"], "approve", who="outsider")
    assert outsider.status_code == 403
    assert outsider.json()["code"] == "OTHER_ISSUER"
    for who in ("auditor", "agent"):
        assert review(world, merchant["id"], "approve", who=who).json()["code"] == "FORBIDDEN"
    own = world.client.post(
        f"/api/v1/merchants/{merchant['id']}/review",
        json={"decision": "approve", "reason": ""},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert own.status_code == 403
    assert _snapshot(world) == before
    assert review(world, merchant["id"], "approve", who="admin").status_code == 200


def test_reviewing_an_unknown_merchant_is_not_found(world: World) -> None:
    response = review(world, "mch_nosuchmerchant", "approve")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_decisions_are_told_to_the_merchants_contact_phone(world: World) -> None:
    merchant, _ = apply(world, contact_phone="+86 139-0000-1111")
    review(world, merchant["id"], "reject", "资料不全")
    keys = CitizenKeys.from_settings(world.runtime.settings).outbox
    with world.runtime.db.read() as tx:
        sent = outbox.newest(tx, keys)
    assert [(m.channel, m.recipient, m.subject) for m in sent] == [
        ("sms", "13900001111", "merchant.rejected")
    ]
    assert "资料不全" in (sent[0].body or "")


def test_operators_list_their_issuers_merchants_by_status_and_category(world: World) -> None:
    catering, _ = approved(world)
    spa, _ = apply(world, categories=["personal_care"])
    apply(world, issuer_id=world.other_issuer.id, region_code="330203")

    def listed(who: str, **params: Any) -> list[str]:
        response = world.get(who, "/merchants", **params)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["items"]]

    assert listed("operator") == [catering["id"], spa["id"]]
    assert listed("operator", status="submitted") == [spa["id"]]
    assert listed("operator", category="catering") == [catering["id"]]
    assert len(listed("admin")) == 3
    assert listed("admin", issuer_id=world.issuer.id) == [catering["id"], spa["id"]]
    foreign = world.get("operator", "/merchants", issuer_id=world.other_issuer.id)
    assert foreign.json()["code"] == "OTHER_ISSUER"
    unknown = world.get("operator", "/merchants", category="casino")
    assert unknown.json()["code"] == "UNKNOWN_CATEGORY"
    page_one = world.get("admin", "/merchants", limit=2).json()
    page_two = world.get("admin", "/merchants", limit=2, cursor=page_one["next_cursor"]).json()
    assert len(page_one["items"]) == 2
    assert len(page_two["items"]) == 1
    assert page_two["next_cursor"] is None


def test_the_category_taxonomy_is_public(world: World) -> None:
    response = world.client.get("/api/v1/categories")
    assert response.status_code == 200
    codes = {c["code"]: c for c in response.json()}
    assert codes["elderly_care"]["zh"] == "养老服务"
    assert {"catering", "tourism", "childcare", "housekeeping"} <= codes.keys()


def test_no_event_carries_names_codes_phones_or_bank_numbers(world: World) -> None:
    code = uscc()
    merchant, _ = approved(world, uscc=code)
    review(world, merchant["id"], "suspend", f"联系人 {PHONE} 称账户 {ACCOUNT_DIGITS} 有误")
    review(world, merchant["id"], "reinstate", "已核实")
    with world.runtime.db.read() as tx:
        payloads = [r.payload for r in tx.execute(select(events.c.payload))]
    assert payloads
    for secret in (ACCOUNT_DIGITS, ACCOUNT_DIGITS[-8:], PHONE, code, NAME, "知味"):
        assert not any(secret in p for p in payloads), secret


def test_review_history_is_append_only(world: World) -> None:
    merchant, _ = approved(world)
    with pytest.raises(Exception, match="append-only"), world.runtime.db.write() as tx:
        tx.execute(text("UPDATE merchant_reviews SET reason = 'rewritten'"))
    with pytest.raises(Exception, match="append-only"), world.runtime.db.write() as tx:
        tx.execute(text("DELETE FROM merchant_reviews"))
    history = world.get("operator", f"/merchants/{merchant['id']}/reviews").json()
    assert len(history) == 1


def test_stored_times_come_back_in_utc(world: World) -> None:
    merchant, _ = approved(world)
    with world.runtime.db.read() as tx:
        stored = merchant_service.get_merchant(tx, merchant["id"])
    assert stored.reviewed_at is not None
    assert stored.reviewed_at.tzinfo == UTC


def test_anonymous_applications_are_limited_per_address(world: World) -> None:
    world.runtime.settings.merchant_applications_per_hour = 10
    answers = [
        world.client.post(
            "/api/v1/merchants", json=application(world)
        ).status_code
        for i in range(11)
    ]
    assert answers[:10] == [201] * 10
    assert answers[10] == 429
