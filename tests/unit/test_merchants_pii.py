"""Confidential fields at rest: AES-GCM bound to its row and field, keyed lookup hashes, masks."""

from __future__ import annotations

import base64
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.services.people.pii import (
    DecryptionError,
    decrypt,
    derive_key,
    encrypt,
    key_id,
    lookup_hash,
    mask_phone,
    mask_tail,
)

MASTER = secrets.token_bytes(32)
KEY = derive_key(MASTER, "aes-gcm/merchant")
AAD = "merchant:mch_a:bank_account"


@given(st.text())
def test_what_is_encrypted_decrypts_to_the_same_text(plaintext: str) -> None:
    assert decrypt(KEY, encrypt(KEY, plaintext, AAD), AAD) == plaintext


def test_the_token_hides_the_value_and_never_repeats() -> None:
    first, second = (
        encrypt(KEY, "6222021234567890123", AAD),
        encrypt(KEY, "6222021234567890123", AAD),
    )
    assert first != second  # a fresh nonce each time: equal values do not look equal
    assert "6222021234567890123" not in first
    assert first.startswith(f"v2.{key_id(KEY)}.")  # the key id names the key that sealed it


def test_a_token_sealed_for_another_row_or_field_does_not_decrypt() -> None:
    token = encrypt(KEY, "13812345678", "merchant:mch_a:contact_phone")
    for aad in ("merchant:mch_b:contact_phone", "merchant:mch_a:bank_account", ""):
        with pytest.raises(DecryptionError):
            decrypt(KEY, token, aad)


def test_another_key_or_purpose_does_not_decrypt() -> None:
    token = encrypt(KEY, "13812345678", AAD)
    for key in (derive_key(secrets.token_bytes(32), "aes-gcm/merchant"), derive_key(MASTER, "x")):
        with pytest.raises(DecryptionError):
            decrypt(key, token, AAD)


def test_a_tampered_or_foreign_token_is_refused() -> None:
    token = encrypt(KEY, "13812345678", AAD)
    prefix, body = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1
    tampered = f"{prefix}.{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    bad_tokens = (tampered, "v3." + token[3:], "v2." + body, "v2.", "v1.!!!", "v1.AAAA", "plain")
    for bad in (*bad_tokens, f"v2.{key_id(KEY)}.", f"v2.{key_id(KEY)}.!!!", "v1."):
        with pytest.raises(DecryptionError):
            decrypt(KEY, bad, AAD)


def test_keys_for_different_purposes_are_independent() -> None:
    keys = {derive_key(MASTER, p) for p in ("aes-gcm/merchant", "aes-gcm/citizen", "lookup")}
    assert len(keys) == 3
    assert all(len(k) == 32 for k in keys)
    assert derive_key(MASTER, "lookup") == derive_key(MASTER, "lookup")
    with pytest.raises(ValueError, match="16 bytes"):
        derive_key(b"short", "lookup")


def test_lookup_hashes_match_equal_values_under_one_key_only() -> None:
    key = derive_key(MASTER, "lookup")
    assert lookup_hash(key, "13812345678") == lookup_hash(key, "13812345678")
    assert lookup_hash(key, "13812345678") != lookup_hash(key, "13812345679")
    assert lookup_hash(key, "13812345678") != lookup_hash(
        derive_key(MASTER, "other"), "13812345678"
    )
    assert len(lookup_hash(key, "x")) == 64


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("+8613812345678", "+86*******5678"), ("1234", "****")],
)
def test_a_phone_shows_its_first_three_and_last_four_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("6222021234567890123", "****0123"), ("12345678", "****5678"), ("1234", "****")],
)
def test_an_account_shows_only_its_last_four_digits(value: str, masked: str) -> None:
    assert mask_tail(value) == masked
