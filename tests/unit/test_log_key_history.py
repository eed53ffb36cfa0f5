"""The log's key history: endorsed rotations, and checkpoints of any age verifying under it."""

from __future__ import annotations

import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from quan.domain.checkpoint import Checkpoint, CheckpointError, format_verifier_key, sign_checkpoint
from quan.domain.log_keys import HistoryEntry, check_history, endorse, verify_checkpoint

ORIGIN = "quan/log/0a1b2c3d"
ROOT = bytes(range(32))


def _history(*keys: Ed25519PrivateKey) -> list[HistoryEntry]:
    entries = [HistoryEntry(format_verifier_key(ORIGIN, keys[0].public_key()))]
    for size, (old, new) in enumerate(itertools.pairwise(keys), start=1):
        entries.append(endorse(ORIGIN, size * 10, old, new))
    return entries


def test_an_old_checkpoint_verifies_after_two_rotations_and_names_its_key() -> None:
    k0, k1, k2 = (Ed25519PrivateKey.generate() for _ in range(3))
    keys = check_history(_history(k0, k1, k2))
    old = sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), ORIGIN, k0)
    new = sign_checkpoint(Checkpoint(ORIGIN, 50, ROOT), ORIGIN, k2)
    assert verify_checkpoint(old, keys, origin=ORIGIN) == (Checkpoint(ORIGIN, 5, ROOT), 0)
    assert verify_checkpoint(new, keys, origin=ORIGIN) == (Checkpoint(ORIGIN, 50, ROOT), 2)


def test_a_checkpoint_by_a_key_outside_the_history_is_refused() -> None:
    k0, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = check_history(_history(k0))
    forged = sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), ORIGIN, stranger)
    with pytest.raises(CheckpointError, match="no key of the log's history"):
        verify_checkpoint(forged, keys, origin=ORIGIN)


def test_a_key_endorsed_by_anyone_but_the_key_before_it_is_refused() -> None:
    k0, k1, stranger = (Ed25519PrivateKey.generate() for _ in range(3))
    history = _history(k0)
    history.append(endorse(ORIGIN, 10, stranger, k1))  # the stranger hands k1 the log
    with pytest.raises(CheckpointError, match="endorsement of key 1 does not verify"):
        check_history(history)


def test_an_endorsement_the_new_key_did_not_sign_is_refused() -> None:
    k0, k1, k2 = (Ed25519PrivateKey.generate() for _ in range(3))
    genuine = endorse(ORIGIN, 10, k0, k1)
    # k0's signature over a rotation to k1, presented as the endorsement of k2.
    with pytest.raises(CheckpointError):
        check_history(
            [
                HistoryEntry(format_verifier_key(ORIGIN, k0.public_key())),
                HistoryEntry(format_verifier_key(ORIGIN, k2.public_key()), genuine.endorsement),
            ]
        )


def test_the_first_key_cannot_be_endorsed_and_later_keys_must_be() -> None:
    k0, k1 = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    rotated = endorse(ORIGIN, 10, k0, k1)
    with pytest.raises(CheckpointError, match="first key"):
        check_history([rotated])
    with pytest.raises(CheckpointError, match="no endorsement"):
        check_history([_history(k0)[0], HistoryEntry(rotated.verifier_key)])
    with pytest.raises(CheckpointError, match="named"):
        check_history(
            [_history(k0)[0], HistoryEntry(format_verifier_key("other/log", k1.public_key()))]
        )
