"""The transparency log's key history: how its signing key rotates without breaking trust.

The log's origin (its name in every checkpoint) is the key name of its first key and never
changes; a rotation adds a key under the same name. Signed notes tell keys of one name apart by
their key id (SHA-256 of name and public key), so a checkpoint names the key that signed it.

Each key after the first comes with an *endorsement*: a signed note whose text is::

    quan/log/key-rotation/v1
    <origin>
    <the new key's verifier key string>
    <the log's size when the key was endorsed>

signed by the previous key (the log's owner hands over) and by the new key (it holds the private
half). A verifier that pinned any key of the history follows the endorsements from it to the
current key; a key without an unbroken chain from the pinned one is refused, and a checkpoint of
any age verifies under the key of the history whose id it names.

Pure: no clock, no storage.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from quan.domain.checkpoint import (
    SIGNATURE_PREFIX,
    Checkpoint,
    CheckpointError,
    format_verifier_key,
    open_note,
    parse_and_verify,
    parse_verifier_key,
    sign_note,
)

ROTATION_HEADER = "quan/log/key-rotation/v1"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One key of the history as published: its verifier key and (after the first) endorsement."""

    verifier_key: str
    endorsement: str | None = None


def rotation_text(origin: str, new_verifier_key: str, tree_size: int) -> str:
    return f"{ROTATION_HEADER}\n{origin}\n{new_verifier_key}\n{tree_size}\n"


def endorse(
    origin: str, tree_size: int, old_key: Ed25519PrivateKey, new_key: Ed25519PrivateKey
) -> HistoryEntry:
    """The history entry for ``new_key``: endorsed by ``old_key`` and by itself."""
    new_verifier = format_verifier_key(origin, new_key.public_key())
    text = rotation_text(origin, new_verifier, tree_size)
    by_old = sign_note(text, origin, old_key)
    # A second signature line over the same text (signed notes carry any number of them).
    by_new = sign_note(text, origin, new_key)
    second_line = by_new[len(text) + 1 :]
    assert second_line.startswith(SIGNATURE_PREFIX)
    return HistoryEntry(verifier_key=new_verifier, endorsement=by_old + second_line)


def check_history(history: list[HistoryEntry]) -> list[tuple[str, Ed25519PublicKey]]:
    """Check every endorsement; return the keys, oldest first. Raises CheckpointError."""
    if not history:
        raise CheckpointError("the key history is empty")
    if history[0].endorsement is not None:
        raise CheckpointError("the first key of the history cannot be endorsed by another")
    origin, first = parse_verifier_key(history[0].verifier_key)
    keys = [(origin, first)]
    seen = {history[0].verifier_key}
    for position, entry in enumerate(history[1:], start=1):
        name, public_key = parse_verifier_key(entry.verifier_key)
        if name != origin:
            raise CheckpointError(f"key {position} is named {name!r}, not the log's {origin!r}")
        if entry.verifier_key in seen:
            raise CheckpointError(f"key {position} appears twice in the history")
        if entry.endorsement is None:
            raise CheckpointError(f"key {position} has no endorsement by the key before it")
        previous = keys[-1][1]
        try:
            by_previous = open_note(entry.endorsement, origin, previous)
            by_itself = open_note(entry.endorsement, origin, public_key)
        except CheckpointError as exc:
            raise CheckpointError(
                f"the endorsement of key {position} does not verify: {exc}"
            ) from exc
        lines = by_previous.split("\n")
        if (
            by_previous != by_itself
            or len(lines) != 5
            or lines[:3] != [ROTATION_HEADER, origin, entry.verifier_key]
            or not lines[3].isdigit()
        ):
            raise CheckpointError(f"the endorsement of key {position} is not a rotation to it")
        keys.append((name, public_key))
        seen.add(entry.verifier_key)
    return keys


def verify_checkpoint(
    note: str, keys: list[tuple[str, Ed25519PublicKey]], *, origin: str
) -> tuple[Checkpoint, int]:
    """Verify a checkpoint of any age under the history's keys; returns it and the key's position.

    Signed notes ignore signatures by keys they are not asked about, so each key is tried: the
    one whose id the signature line names verifies, the others find no signature of theirs.
    """
    for position, (name, public_key) in enumerate(keys):
        try:
            return parse_and_verify(note, name, public_key, origin=origin), position
        except CheckpointError as exc:
            if "carries no signature by key" in str(exc):
                continue
            raise
    raise CheckpointError("the checkpoint is signed by no key of the log's history")
