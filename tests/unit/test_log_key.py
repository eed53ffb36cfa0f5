"""Rules of the log's identity: an Ed25519 key from the configured seed names the log."""

from __future__ import annotations

import hashlib

import pytest

from quan.config import ConfigError
from quan.domain.checkpoint import Checkpoint, parse_and_verify, parse_verifier_key, sign_checkpoint
from quan.domain.merkle import EMPTY_ROOT
from quan.services.transparency.transparency import LogKey


def test_the_log_is_named_after_its_public_key() -> None:
    key = LogKey.from_seed(bytes(range(32)))
    fingerprint = hashlib.sha256(key.public_key.public_bytes_raw()).hexdigest()[:8]
    assert key.name == key.origin == f"quan/log/{fingerprint}"
    assert LogKey.from_seed(bytes(range(32))).name == key.name
    assert LogKey.from_seed(bytes(32)).name != key.name


def test_the_published_verifier_key_checks_the_logs_checkpoints() -> None:
    key = LogKey.from_seed(bytes(range(32)))
    name, public_key = parse_verifier_key(key.verifier_key)
    note = sign_checkpoint(Checkpoint(key.origin, 0, EMPTY_ROOT), key.name, key.private_key)
    assert parse_and_verify(note, name, public_key, origin=key.origin).size == 0


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_a_seed_that_is_not_32_bytes_is_a_configuration_error(length: int) -> None:
    with pytest.raises(ConfigError, match="32 bytes"):
        LogKey.from_seed(bytes(length))
