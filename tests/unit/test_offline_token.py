"""Offline tokens: compact, signed, refused when forged or altered, judged on the terminal."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from quan.domain import base45, offline_token
from quan.domain.categories import CATEGORIES
from quan.domain.errors import QuanError
from quan.domain.merchants import Scene
from quan.domain.offline_token import TokenClaims, claims_for, key_id_of, sign, verify
from quan.domain.voucher_type_json import parse_voucher_type
from quan.domain.voucher_types import ScopeKind
from quan.store.ids import new_id
from quan.terminal import TerminalProfile, Till, judge, load_keyring
from quan.terminal.keys import KeyringError

NOW = datetime(2026, 11, 25, 2, 0, 30, tzinfo=UTC)
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
RING = {key_id_of(KEY.public_key()).hex(): KEY.public_key()}

FIXED: dict[str, Any] = {
    "name": "餐饮满100减30",
    "kind": "fixed",
    "face_value_fen": 3000,
    "min_spend_fen": 10000,
    "categories": ["catering", "residential_services"],
    "scenes": ["offline"],
    "validity_preset": "short",
}
PROFILE = TerminalProfile(
    merchant_id="mch_0000000000aaaaaaaaaaaaaaaa",
    issuer_id="iss_1",
    region_code="330106",
    categories=frozenset({"catering"}),
)


def make_claims(definition: dict[str, Any] | None = None, **changes: Any) -> TokenClaims:
    spec = parse_voucher_type({**FIXED, **(definition or {})})
    values: dict[str, Any] = {
        "voucher_id": new_id("vch"),
        "issuer_id": "iss_1",
        "spec": spec,
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=30),
        "issued_at": NOW,
        "key_id": key_id_of(KEY.public_key()),
    }
    values.update(changes)
    return claims_for(**values)


def token(definition: dict[str, Any] | None = None, **changes: Any) -> str:
    return sign(make_claims(definition, **changes), KEY)


def refused_reason(text: str, ring: Any = None) -> str:
    with pytest.raises(QuanError) as caught:
        verify(text, RING if ring is None else ring)
    assert caught.value.code == "INVALID_OFFLINE_TOKEN"
    return str(caught.value.params["reason"])


# --- base45 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),
    ],
)
def test_base45_matches_the_rfc_9285_examples(raw: bytes, text: str) -> None:
    assert base45.encode(raw) == text
    assert base45.decode(text) == raw


@given(st.binary(max_size=300))
def test_base45_round_trips_any_bytes(raw: bytes) -> None:
    assert base45.decode(base45.encode(raw)) == raw


@pytest.mark.parametrize("text", ["GGW", "A", "ab", "1234"])
def test_base45_refuses_what_no_encoder_makes(text: str) -> None:
    with pytest.raises(base45.Base45Error):
        base45.decode(text)


# --- the token ----------------------------------------------------------------------------------


def test_a_signed_token_verifies_to_the_claims_it_was_made_from() -> None:
    claims = make_claims()
    assert verify(sign(claims, KEY), RING) == claims


def test_a_token_is_small_enough_for_a_small_qr_code_in_alphanumeric_mode() -> None:
    text = token({"merchant_scope": {"kind": "regions", "region_codes": ["330106", "330108"]}})
    assert len(text) <= 200
    assert all(c in base45.ALPHABET for c in text)  # QR alphanumeric mode, prefix included


def test_the_window_is_narrowed_to_whole_minutes_never_widened() -> None:
    claims = make_claims(valid_from=NOW, valid_until=NOW + timedelta(minutes=5))
    assert claims.valid_from == datetime(2026, 11, 25, 2, 1, tzinfo=UTC)
    assert claims.valid_until == datetime(2026, 11, 25, 2, 5, tzinfo=UTC)


def test_percent_vouchers_carry_their_percentage_and_cap() -> None:
    percent = {"kind": "percent", "percent_off": 20, "cap_fen": 5000, "face_value_fen": None}
    claims = verify(token({**percent, "min_spend_fen": 0}), RING)
    assert claims.discount.percent_off == 20
    assert claims.value_fen == 5000


def test_a_short_merchant_list_travels_as_tags_and_a_long_one_is_left_to_the_server() -> None:
    short = verify(
        token({"merchant_scope": {"kind": "merchants", "merchant_ids": ["a", "b"]}}), RING
    )
    assert short.scope_listed
    assert short.merchant_tags == (offline_token.tag("a"), offline_token.tag("b"))
    many = [f"mch_{i}" for i in range(10)]
    long = verify(token({"merchant_scope": {"kind": "merchants", "merchant_ids": many}}), RING)
    assert long.scope_kind is ScopeKind.MERCHANTS
    assert not long.scope_listed


def test_every_category_has_a_bit_in_the_token() -> None:
    assert set(CATEGORIES) <= set(offline_token.CATEGORY_BITS)
    assert len(set(offline_token.CATEGORY_BITS)) == len(offline_token.CATEGORY_BITS)


@given(st.data())
def test_changing_any_byte_of_a_token_makes_it_invalid(data: st.DataObject) -> None:
    text = token()
    raw = bytearray(base45.decode(text[len(offline_token.PREFIX) :]))
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[index] ^= data.draw(st.integers(min_value=1, max_value=255))
    tampered = offline_token.PREFIX + base45.encode(bytes(raw))
    assert refused_reason(tampered) in ("signature", "unknown_key", "version")


def test_a_token_signed_by_another_key_is_refused_as_an_unknown_key() -> None:
    forged = sign(make_claims(key_id=key_id_of(OTHER_KEY.public_key())), OTHER_KEY)
    assert refused_reason(forged) == "unknown_key"


def test_a_token_naming_our_key_but_signed_by_another_is_refused_by_its_signature() -> None:
    assert refused_reason(sign(make_claims(), OTHER_KEY)) == "signature"


@pytest.mark.parametrize(
    "text",
    ["7K3M-Q9XD-2HVB-T4NW", "QV1:", "QV1:abc", "QV1:" + "A" * 500, "QV1:GGW" + "0" * 120],
)
def test_text_that_is_not_a_token_is_refused_as_format(text: str) -> None:
    assert refused_reason(text) == "format"


def test_an_unknown_version_is_refused_rather_than_guessed_at() -> None:
    raw = bytearray(base45.decode(token()[len(offline_token.PREFIX) :]))
    raw[0] = 2
    assert refused_reason(offline_token.PREFIX + base45.encode(bytes(raw))) == "version"


# --- the terminal -------------------------------------------------------------------------------


def test_the_terminal_accepts_a_valid_order_with_the_servers_discount() -> None:
    decision = judge(make_claims(), PROFILE, amount_fen=12000, category="catering", now=NOW)
    assert decision.accepted
    assert (decision.discount_fen, decision.customer_pays_fen) == (3000, 9000)


@pytest.mark.parametrize(
    ("changes", "order", "code", "rule"),
    [
        ({"valid_until": NOW}, {}, "VOUCHER_EXPIRED", "validity"),
        ({"valid_from": NOW + timedelta(hours=1)}, {}, "VOUCHER_NOT_YET_VALID", "validity"),
        ({"issuer_id": "iss_2"}, {}, "OUT_OF_SCOPE", "issuer"),
        ({}, {"category": "tourism"}, "OUT_OF_SCOPE", "category"),
        ({}, {"category": "residential_services"}, "OUT_OF_SCOPE", "merchant_category"),
        ({}, {"scene": Scene.ONLINE}, "OUT_OF_SCOPE", "scene"),
        ({}, {"amount_fen": 9999}, "BELOW_MIN_SPEND", "min_spend"),
    ],
)
def test_the_terminal_refuses_with_the_servers_codes(
    changes: dict[str, Any], order: dict[str, Any], code: str, rule: str
) -> None:
    args: dict[str, Any] = {"amount_fen": 12000, "category": "catering", "now": NOW, **order}
    decision = judge(make_claims(**changes), PROFILE, **args)
    assert decision.refusal is not None
    assert (decision.refusal.code, decision.refusal.rule) == (code, rule)


def test_the_terminal_checks_a_listed_region_scope() -> None:
    inside = make_claims({"merchant_scope": {"kind": "regions", "region_codes": ["330100"]}})
    assert judge(inside, PROFILE, amount_fen=12000, category="catering", now=NOW).accepted
    outside = make_claims({"merchant_scope": {"kind": "regions", "region_codes": ["330200"]}})
    decision = judge(outside, PROFILE, amount_fen=12000, category="catering", now=NOW)
    assert decision.refusal is not None
    assert decision.refusal.rule == "region"


def test_a_till_refuses_a_voucher_it_already_accepted_and_syncs_each_record_once() -> None:
    till = Till(PROFILE, RING)
    text = token()
    first = till.redeem(text, amount_fen=12000, category="catering", now=NOW)
    again = till.redeem(text, amount_fen=15000, category="catering", now=NOW)
    assert first.accepted
    assert again.refusal is not None
    assert again.refusal.code == "ALREADY_REDEEMED"
    body = till.sync_body()
    assert [r["token"] for r in body["records"]] == [text]
    assert body["records"][0]["order_amount_fen"] == 12000
    till.forget([r["record_id"] for r in body["records"]])
    assert till.pending() == []


def test_a_till_raises_on_a_forged_token_and_records_nothing() -> None:
    till = Till(PROFILE, RING)
    with pytest.raises(QuanError):
        till.redeem(sign(make_claims(), OTHER_KEY), amount_fen=12000, category="catering", now=NOW)
    assert till.pending() == []


def test_the_keyring_reads_the_published_document_and_a_bare_key() -> None:
    raw = base64.b64encode(KEY.public_key().public_bytes_raw()).decode()
    key_id = key_id_of(KEY.public_key()).hex()
    document = {"keys": [{"key_id": key_id, "algorithm": "Ed25519", "public_key": raw}]}
    assert set(load_keyring(json.dumps(document))) == {key_id}
    assert set(load_keyring(raw)) == {key_id}


def test_a_keyring_entry_whose_id_does_not_match_its_key_is_refused() -> None:
    raw = base64.b64encode(KEY.public_key().public_bytes_raw()).decode()
    document = {"keys": [{"key_id": "00000000", "algorithm": "Ed25519", "public_key": raw}]}
    with pytest.raises(KeyringError):
        load_keyring(json.dumps(document))


def test_the_documented_test_vector_is_reproduced() -> None:
    """docs/offline-tokens.md publishes this vector; other verifiers are written against it."""
    spec = parse_voucher_type(
        {
            **FIXED,
            "categories": ["catering"],
            "merchant_scope": {"kind": "regions", "region_codes": ["330106"]},
        }
    )
    claims = claims_for(
        voucher_id="vch_01m89xdajmggvqt04axmm2mvyy",
        issuer_id="iss_01m89x00000000000000000000",
        spec=spec,
        valid_from=datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
        valid_until=datetime(2027, 2, 22, 16, 0, tzinfo=UTC),
        issued_at=datetime(2026, 11, 25, 2, 0, 30, tzinfo=UTC),
        key_id=key_id_of(KEY.public_key()),
    )
    assert base64.b64encode(KEY.public_key().public_bytes_raw()).decode() == (
        "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
    )
    assert offline_token.pack(claims).hex() == (
        "0156475aa70001a213d6aa5484377d008aed282a6fde014d1a0f2ab817904e01b8c6a20ea0b6aa0eb8c6a2"
        "0e0105097a"
    )
    assert sign(claims, KEY) == (
        "QV1:R70-0925LD90%M2:NL7WG5 FFPHM35I6EI70BD31I52:2Y%97GN-LKCEKJML7GN-LK 50-81X33TW8E4QH"
        "UQ1%DJ$5VS3N9JIXCQ:2*LB2FE5+1-UN-.47Z8YZC:MB2ISD*C-O4X5IQ.0*M1Q36*TC1I5-CK4E3UZ52FQMMA"
    )
