"""Rules of log leaves: canonical bytes of the event, and no personal data in clear, ever."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quan.domain.canonical import canonical_bytes
from quan.domain.log_leaf import (
    LEGACY_VERSION,
    PSEUDONYM_PREFIX,
    LogEvent,
    Pseudonymizer,
    _clean,
    clean_payload,
    encode_leaf,
    format_time,
    is_personal_key,
    leaf_document,
    looks_personal,
)
from quan.domain.resident_id import check_character

PSEUDONYMS = Pseudonymizer(b"k" * 32)
AT = datetime(2026, 11, 25, 2, 0, 0, 123456, tzinfo=UTC)
RESIDENT_ID = "11010519491231002" + check_character("11010519491231002")


def event(**overrides: Any) -> LogEvent:
    values: dict[str, Any] = {
        "id": 42,
        # A type public_leaf does not list: its payload reaches the guard whole (but for the
        # keys never public), which is what these tests exercise.
        "type": "test.unlisted",
        "actor": "staff:usr_01",
        "subject_type": "contribution",
        "subject_id": "fm_01",
        "program_id": "prg_01",
        "payload": {"amount_fen": 100, "funder_id": "fdr_01"},
        "occurred_at": AT,
    }
    values.update(overrides)
    return LogEvent(**values)


def leaf_json(e: LogEvent) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(encode_leaf(e, PSEUDONYMS).data)
    return document


def test_leaf_is_the_events_projection_as_canonical_json_with_version_2() -> None:
    e = event(type="contribution.recorded", payload={"amount_fen": 100, "funder_id": "fdr_01",
                                                     "reason": "internal"})
    assert encode_leaf(e, PSEUDONYMS).data == (
        b'{"actor":"staff:usr_01","event_id":42,"occurred_at":"2026-11-25T02:00:00.123456Z",'
        b'"payload":{"amount_fen":100,"funder_id":"fdr_01"},"program_id":"prg_01",'
        b'"subject":{"id":"fm_01","type":"contribution"},"type":"contribution.recorded","v":2}'
    )


def test_a_legacy_leaf_is_the_event_unprojected_with_version_1() -> None:
    e = event(type="voucher.claimed", actor="citizen:cit_01", payload={"pool": "disabled"})
    assert encode_leaf(e, PSEUDONYMS, LEGACY_VERSION).data == (
        b'{"actor":"citizen:cit_01","event_id":42,"occurred_at":"2026-11-25T02:00:00.123456Z",'
        b'"payload":{"pool":"disabled"},"program_id":"prg_01",'
        b'"subject":{"id":"fm_01","type":"contribution"},"type":"voucher.claimed","v":1}'
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    payload=st.dictionaries(st.text(max_size=12), json_values, max_size=6),
    texts=st.lists(st.text(max_size=30), min_size=5, max_size=5),
    program=st.none() | st.text(max_size=10),
    event_id=st.integers(min_value=1, max_value=2**63 - 1),
)
def test_assembled_leaf_equals_canonical_bytes_of_its_document(
    payload: dict[str, Any], texts: list[str], program: str | None, event_id: int
) -> None:
    e = event(
        id=event_id,
        type=texts[0],
        actor=texts[1],
        subject_type=texts[2],
        subject_id=texts[3],
        program_id=program,
        payload=payload,
    )
    leaf = encode_leaf(e, PSEUDONYMS)
    assert leaf.data == canonical_bytes(leaf_document(e, PSEUDONYMS))
    json.loads(leaf.data)  # and it is JSON at all


flat_keys = st.sampled_from(["name", "phone", "contact_phone", "note", "voucher_id"]) | st.text(
    max_size=10
)
flat_values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["13812345678", RESIDENT_ID, "zhang.san@example.com", "vch_0001"])
)


@settings(max_examples=300, deadline=None)
@given(payload=st.dictionaries(flat_keys, flat_values, max_size=6), in_person=st.booleans())
def test_the_flat_payload_shortcut_cleans_exactly_like_the_full_walk(
    payload: dict[str, Any], in_person: bool
) -> None:
    fast_touched: list[str] = []
    slow_touched: list[str] = []
    fast = _clean(payload, "payload", in_person, PSEUDONYMS, fast_touched)
    # Not a dict, so the general walk: the reference the shortcut must agree with.
    slow = _clean(MappingProxyType(payload), "payload", in_person, PSEUDONYMS, slow_touched)
    assert fast == slow
    assert fast_touched == slow_touched


def test_times_are_utc_with_microseconds_and_z_whatever_the_offset() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert format_time(AT.astimezone(shanghai)) == "2026-11-25T02:00:00.123456Z"
    assert format_time(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    "value",
    ["13812345678", "+8613812345678", "86 13812345678", RESIDENT_ID, "zhang.san@example.com"],
)
def test_values_that_look_personal_are_pseudonymised_whatever_their_key(value: str) -> None:
    document = leaf_json(event(payload={"note": value, "items": [{"ref": value}]}))
    assert document["payload"]["note"] == PSEUDONYMS(value)
    assert document["payload"]["items"][0]["ref"] == PSEUDONYMS(value)
    assert value.encode() not in encode_leaf(event(payload={"note": value}), PSEUDONYMS).data


@pytest.mark.parametrize(
    "key",
    ["phone", "contact_phone", "mobile", "email", "address", "resident_id", "citizen_id_number",
     "id_card", "real_name", "birth_date", "bank_account", "Phone-Number"],
)  # fmt: skip
def test_personal_keys_are_pseudonymised_at_any_depth(key: str) -> None:
    leaf = encode_leaf(event(payload={"outer": {key: "x1"}, key: 7}), PSEUDONYMS)
    document = json.loads(leaf.data)
    assert document["payload"][key] == PSEUDONYMS(7)
    assert document["payload"]["outer"][key] == PSEUDONYMS("x1")
    assert set(leaf.pseudonymised) == {f"payload.{key}", f"payload.outer.{key}"}


def test_a_citizens_name_is_pseudonymised_but_organisations_keep_theirs() -> None:
    citizen = leaf_json(event(subject_type="citizen", payload={"name": "张三"}))
    assert citizen["payload"]["name"] == PSEUDONYMS("张三")
    nested = leaf_json(event(payload={"holder": {"name": "李四"}, "name": "春季餐饮券"}))
    assert nested["payload"]["holder"]["name"] == PSEUDONYMS("李四")
    assert nested["payload"]["name"] == "春季餐饮券"
    funder = leaf_json(event(subject_type="funder", payload={"name": "杭州市财政局"}))
    assert funder["payload"]["name"] == "杭州市财政局"


def test_a_subject_id_that_looks_personal_is_pseudonymised() -> None:
    # (A citizen subject is a pseudonym anyway, see test_public_leaf; the guard covers any.)
    leaf = encode_leaf(event(subject_type="contact", subject_id="13812345678"), PSEUDONYMS)
    assert json.loads(leaf.data)["subject"]["id"] == PSEUDONYMS("13812345678")
    assert leaf.pseudonymised == ("subject.id",)


def test_ids_codes_amounts_and_near_misses_stay_in_clear() -> None:
    wrong_check = RESIDENT_ID[:17] + ("0" if RESIDENT_ID[17] != "0" else "1")
    payload = {
        "amount_fen": 13812345678,  # a number is never read as a phone number
        "order_no": wrong_check,  # 18 digits without a valid check character
        "merchant_id": "mer_01m8a",
        "code": "12345678901",  # 11 digits that cannot be a mobile number (12…)
        "microphone": "on",  # "phone" only as a whole word of the key
        "phone_masked": None,  # nothing to hide
    }
    leaf = encode_leaf(event(payload=payload), PSEUDONYMS)
    assert json.loads(leaf.data)["payload"] == payload
    assert leaf.pseudonymised == ()


def test_pseudonyms_are_stable_under_one_key_and_differ_under_another() -> None:
    other = Pseudonymizer(b"o" * 32)
    assert PSEUDONYMS("13812345678") == PSEUDONYMS("13812345678")
    assert PSEUDONYMS("13812345678") != PSEUDONYMS("13812345679")
    assert PSEUDONYMS("13812345678") != other("13812345678")
    assert PSEUDONYMS("13812345678").startswith(PSEUDONYM_PREFIX)
    assert len(PSEUDONYMS("x")) == len(PSEUDONYM_PREFIX) + 32
    with pytest.raises(ValueError, match="16 bytes"):
        Pseudonymizer(b"short")


def test_a_pseudonym_itself_no_longer_looks_personal() -> None:
    cleaned, touched = clean_payload({"note": "13812345678"}, "contribution", PSEUDONYMS)
    assert touched == ["payload.note"]
    assert not looks_personal(cleaned["note"])


def test_keys_are_matched_on_whole_words() -> None:
    assert is_personal_key("phone")
    assert is_personal_key("citizen_phone")
    assert not is_personal_key("telephony")
