"""Personal-data keys rotate: tokens name their key; retired keys still open old tokens."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from quan.services.people import pii
from quan.services.people.citizens import CitizenKeys
from tests.conftest import make_settings

AAD = "citizen:cit_1:name"


def test_a_token_names_the_key_that_sealed_it_and_a_retired_key_still_opens_it() -> None:
    old, new = os.urandom(32), os.urandom(32)
    before = pii.encrypt(old, "张三", AAD)
    assert before.startswith(f"v2.{pii.key_id(old)}.")
    ring = pii.Keyring(current=new, retired=(old,))
    after = pii.encrypt(ring, "张三", AAD)
    assert after.startswith(f"v2.{pii.key_id(new)}.")
    assert pii.decrypt(ring, before, AAD) == pii.decrypt(ring, after, AAD) == "张三"
    assert not ring.is_current(before)
    assert ring.is_current(after)


def test_a_token_under_a_key_no_longer_configured_is_refused_by_its_key_id() -> None:
    old, new = os.urandom(32), os.urandom(32)
    token = pii.encrypt(old, "张三", AAD)
    with pytest.raises(pii.DecryptionError, match=pii.key_id(old)):
        pii.decrypt(pii.Keyring(current=new), token, AAD)
    with pytest.raises(pii.DecryptionError):
        pii.decrypt(new, token, AAD)  # a plain key is a keyring of one


def test_tokens_written_before_key_ids_still_open_under_the_key_that_sealed_them() -> None:
    old, new = os.urandom(32), os.urandom(32)
    # The v1 format: v1.<base64url(nonce ‖ sealed)>, as stored before key ids.
    legacy = "v1." + pii.encrypt(old, "13812345678", AAD).rsplit(".", 1)[1]
    assert pii.decrypt(pii.Keyring(current=new, retired=(old,)), legacy, AAD) == "13812345678"
    with pytest.raises(pii.DecryptionError):
        pii.decrypt(pii.Keyring(current=new), legacy, AAD)


def test_the_settings_keyring_seals_under_the_new_key_while_lookups_stay_on_pii_key(
    tmp_path: Path,
) -> None:
    before = make_settings(tmp_path, "sqlite://")
    new_master = base64.b64encode(os.urandom(32)).decode()
    after = before.model_copy(update={"pii_sealing_key": SecretStr(new_master)})
    old_ring = pii.keyring(before, "aes-gcm/citizen")
    new_ring = pii.keyring(after, "aes-gcm/citizen")
    assert new_ring.current_id != old_ring.current_id
    assert new_ring.retired == (old_ring.current,)  # pii_key still opens what it sealed
    token = pii.encrypt(old_ring, "张三", AAD)
    assert pii.decrypt(new_ring, token, AAD) == "张三"
    # ID-number and phone lookups are compared with stored hashes: they must not move.
    old_keys, new_keys = CitizenKeys.from_settings(before), CitizenKeys.from_settings(after)
    assert old_keys.resident_id_hash("110101199003071234") == new_keys.resident_id_hash(
        "110101199003071234"
    )
    assert old_keys.phone_lookup == new_keys.phone_lookup


def test_a_second_rotation_keeps_every_listed_retired_key(tmp_path: Path) -> None:
    first, second = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    settings = make_settings(
        tmp_path, "sqlite://", pii_sealing_key=second, pii_retired_keys=f"{first}, "
    )
    ring = pii.keyring(settings, "aes-gcm/merchant")
    assert len(ring.retired) == 2  # the first sealing key and pii_key
    token = pii.encrypt(pii.derive_key(base64.b64decode(first), "aes-gcm/merchant"), "x", AAD)
    assert pii.decrypt(ring, token, AAD) == "x"


def test_a_keyring_never_shows_its_keys() -> None:
    key = os.urandom(32)
    shown = repr(pii.Keyring(current=key, retired=(os.urandom(32),)))
    assert key.hex() not in shown
    assert pii.key_id(key) in shown
