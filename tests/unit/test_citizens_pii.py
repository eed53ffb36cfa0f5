"""How a citizen's personal data is kept: sealed to its row and field, found by keyed hashes."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import pytest

from quan.domain.citizens import RegistrationInput, validate_registration
from quan.services.people import pii
from quan.services.people.citizens import Channel, CitizenKeys, sealed_row
from tests.citizen_samples import people

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
(PERSON,) = people(1)
REGISTRATION = validate_registration(
    RegistrationInput(
        resident_id=PERSON.resident_id,
        name=PERSON.name,
        region_code=PERSON.region_code,
        phone=PERSON.phone,
    ),
    today=date(2026, 11, 25),
)


def row(keys: CitizenKeys, citizen_id: str = "cit_1") -> dict[str, object]:
    return sealed_row(
        keys, REGISTRATION, citizen_id=citizen_id, via=Channel.OPERATOR, by="staff:u", now=NOW
    )


def test_every_purpose_gets_its_own_key() -> None:
    keys = CitizenKeys.from_master(os.urandom(32))
    derived = [keys.sealing, keys.resident_id_lookup, keys.phone_lookup, keys.otp]
    assert len(set(derived)) == 4


def test_a_stored_row_holds_no_personal_value_in_clear() -> None:
    stored = repr(row(CitizenKeys.from_master(os.urandom(32))))
    for value in (PERSON.resident_id, PERSON.phone, PERSON.name):
        assert value not in stored
    assert PERSON.phone[-4:] in stored  # the mask keeps the last four digits, by design


def test_the_same_person_hashes_alike_under_one_key_and_differently_under_another() -> None:
    master = os.urandom(32)
    first, again = (
        row(CitizenKeys.from_master(master), "cit_1"),
        row(CitizenKeys.from_master(master), "cit_2"),
    )
    other = row(CitizenKeys.from_master(os.urandom(32)))
    assert first["resident_id_hash"] == again["resident_id_hash"]
    assert first["resident_id_enc"] != again["resident_id_enc"]  # random nonce per seal
    assert first["resident_id_hash"] != other["resident_id_hash"]


def test_the_id_number_and_phone_hashes_differ_even_for_equal_text() -> None:
    keys = CitizenKeys.from_master(os.urandom(32))
    assert keys.resident_id_hash("13812345678") != keys.phone_hash("13812345678")


def test_a_sealed_value_opens_only_for_its_own_row_and_field() -> None:
    keys = CitizenKeys.from_master(os.urandom(32))
    token = str(row(keys, "cit_1")["phone_enc"])
    assert pii.decrypt(keys.sealing, token, "citizen:cit_1:phone") == PERSON.phone
    with pytest.raises(pii.DecryptionError):
        pii.decrypt(keys.sealing, token, "citizen:cit_2:phone")  # copied to another row
    with pytest.raises(pii.DecryptionError):
        pii.decrypt(keys.sealing, token, "citizen:cit_1:name")  # moved to another column


def test_keys_do_not_show_in_reprs() -> None:
    keys = CitizenKeys.from_master(os.urandom(32))
    assert keys.sealing.hex() not in repr(keys)
    assert repr(keys) == "CitizenKeys(<hidden>)"
