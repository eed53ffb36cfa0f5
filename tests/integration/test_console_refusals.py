"""Refusals a person understands (quan.web.refusals): a sentence in the page's language next to
the field it concerns (aria-invalid, aria-describedby), amounts in yuan, times in the program's
zone, no raw codes or pydantic English; the error page keeps the signed-in header; ``?lang=``
carries through the form's post and the redirect after it."""

from __future__ import annotations

import re

from tests.conftest import World
from tests.integration.console_fixtures import staff_session, submit
from tests.integration.issuance_fixtures import batch, funded_program, voucher_type
from tests.integration.merchant_fixtures import apply

TYPE_FORM = {"name": "餐饮满100减30", "kind": "fixed", "face_value": "30", "min_spend": "100",
             "categories": ["catering"], "scenes": ["offline"], "validity_preset": "short"}
RAW = ("VALIDATION_FAILED", "face_value_fen", "min_spend_fen", "Input should", "fen",
       "INVALID_", "in_the_past", "reserved[")


def _visible(html: str) -> str:
    """The page's text as a reader gets it: no tags, no attribute values."""
    body = html.split("<main", 1)[1].split("</main>", 1)[0]
    return re.sub(r"<[^>]+>", " ", body)


def _no_raw_codes(html: str) -> None:
    text = _visible(html)
    for raw in RAW:
        assert raw not in text, raw


def _invalid(html: str, name: str) -> str:
    """The sentence attached to the control ``name``, checking the control points to it."""
    control = re.search(rf'id="f-{re.escape(name)}"[^>]*>', html)
    assert control, f"no control {name}"
    assert 'aria-invalid="true"' in control.group(0)
    assert f'aria-describedby="err-{name}"' in control.group(0)
    said = re.search(rf'<span class="field-error" id="err-{re.escape(name)}"[^>]*>([^<]+)<', html)
    assert said, f"no sentence for {name}"
    return said.group(1)


def test_an_amount_that_is_not_money_is_said_next_to_its_field_in_both_languages(
    world: World,
) -> None:
    pid = funded_program(world)
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/voucher-types/new"
    refused = submit(world, f"/ops/programs/{pid}/voucher-types",
                     {**TYPE_FORM, "face_value": "30.005"}, page=page)
    assert refused.status_code == 422
    assert _invalid(refused.text, "face_value") == (
        "“减免金额（满减）”须为以元为单位的金额，最多两位小数，例如 12.50。"
    )
    assert 'href="#f-face_value"' in refused.text  # the summary leads to the field
    assert 'aria-invalid="true"' not in refused.text.split('id="f-min_spend"')[1][:80]
    _no_raw_codes(refused.text)
    english = submit(world, f"/ops/programs/{pid}/voucher-types?lang=en",
                     {**TYPE_FORM, "face_value": "abc"}, page=page)
    assert _invalid(english.text, "face_value") == (
        "Amount off (fixed) must be an amount in yuan with at most two decimals, such as 12.50."
    )
    _no_raw_codes(english.text)
    # The choice of English carries on: the form's next post and the redirect after it.
    created = submit(world, f"/ops/programs/{pid}/voucher-types", TYPE_FORM, page=page)
    assert created.status_code == 303
    assert '<html lang="en"' in world.client.get(created.headers["location"]).text


def test_domain_refusals_name_the_field_and_say_amounts_in_yuan(world: World) -> None:
    pid = funded_program(world)
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/voucher-types/new"
    below = submit(world, f"/ops/programs/{pid}/voucher-types",
                   {**TYPE_FORM, "face_value": "30", "min_spend": "20"}, page=page)
    assert below.status_code == 422
    assert _invalid(below.text, "min_spend") == "使用门槛 ¥20.00 低于面额 ¥30.00；无门槛请填 0。"
    no_category = submit(world, f"/ops/programs/{pid}/voucher-types",
                         {**TYPE_FORM, "categories": []}, page=page)
    assert _invalid(no_category.text, "categories")
    _no_raw_codes(no_category.text)
    assert world.get("operator", f"/programs/{pid}/voucher-types").json()["items"] == []


def test_a_batch_form_attaches_each_refusal_to_its_row_and_control(world: World) -> None:
    pid = funded_program(world)
    vt = voucher_type(world, pid)
    staff_session(world, "operator")
    page = f"/ops/programs/{pid}/batches/new"
    form = {"voucher_type_id": vt["id"], "name": "第一轮", "quantity": "20",
            "allocation": "fcfs", "claim_opens_at": "2026-11-25T10:00",
            "claim_closes_at": "2026-12-01T10:00", "per_citizen_limit": "1",
            "reserve_group": ["elderly", "low_income", "disabled"],
            "reserve_quantity": ["", "", ""], "reserve_release": ["", "", ""],
            "reserve_tickets": ["1", "1", "1"]}
    backwards = submit(world, f"/ops/programs/{pid}/batches",
                       {**form, "claim_closes_at": "2026-11-24T10:00"}, page=page)
    assert backwards.status_code == 422
    assert _invalid(backwards.text, "claim_closes_at") == "领取结束时间须晚于开始时间。"
    tickets = submit(world, f"/ops/programs/{pid}/batches",
                     {**form, "reserve_quantity": ["", "5", ""],
                      "reserve_release": ["", "2026-11-28T10:00", ""],
                      "reserve_tickets": ["1", "3", "1"]}, page=page)
    assert _invalid(tickets.text, "reserve_tickets-low_income") == (
        "只有摇号批次才能设置摇号份数；其他发放方式请保持 1。"
    )
    too_many = submit(world, f"/ops/programs/{pid}/batches?lang=en",
                      {**form, "quantity": "2000001"}, page=page)
    assert _invalid(too_many.text, "quantity") == "Quantity must be between 1 and 2,000,000."
    not_a_time = submit(world, f"/ops/programs/{pid}/batches",
                        {**form, "claim_opens_at": "soon"}, page=page)
    said = _invalid(not_a_time.text, "claim_opens_at")
    assert said == "Claims open must be a complete date and time."
    for page_text in (backwards.text, tickets.text, too_many.text, not_a_time.text):
        _no_raw_codes(page_text)
    assert world.get("operator", f"/programs/{pid}/batches").json()["items"] == []


def test_an_error_page_keeps_the_signed_in_header_and_leads_back(world: World) -> None:
    pid = funded_program(world, amount_fen=10_000)
    vt = voucher_type(world, pid)
    draft = batch(world, pid, vt["id"], quantity=10)  # 10 × ¥30 > ¥100
    staff_session(world, "operator")
    refused = submit(world, f"/ops/batches/{draft['id']}/open", page=f"/ops/programs/{pid}",
                     referer=f"http://testserver/ops/programs/{pid}")
    assert refused.status_code == 409
    assert 'data-code="INSUFFICIENT_BUDGET"' in refused.text
    assert "可用预算不足：需要 ¥300.00，可用 ¥100.00。" in refused.text
    assert 'data-test="sign-out"' in refused.text  # still signed in, with the navigation
    assert 'href="/ops"' in refused.text
    assert f'href="/ops/programs/{pid}" data-test="error-back"' in refused.text
    _no_raw_codes(refused.text)


def test_a_rejection_without_reason_is_said_at_the_reason_field(world: World) -> None:
    merchant, _ = apply(world)
    staff_session(world, "operator")
    refused = submit(world, f"/ops/merchants/{merchant['id']}/review",
                     {"decision": "reject", "reason": " "}, page="/ops/merchants")
    assert refused.status_code == 422
    assert "驳回或暂停商户必须填写理由" in _invalid(refused.text, "reason")
    missing = submit(world, f"/ops/merchants/{merchant['id']}/review", {"reason": "x"},
                     page="/ops/merchants")
    assert missing.status_code == 422
    assert _invalid(missing.text, "decision") == "请从所列选项中选择“决定”。"
    _no_raw_codes(missing.text)
