"""Verify a Quan transparency log from outside, through its public HTTP endpoints only.

One run:

1. Fetch the public key and the key history; check every endorsement in the history (each key
   after the first is endorsed by the one before, see :mod:`quan.domain.log_keys`). The pinned
   key (from the state, or given, or on first use the log's first key) must be in the history;
   a key that is not is refused.
2. Fetch the latest checkpoint and check its Ed25519 signature and origin under the key of the
   history it names, which must not be older than the pinned key (nor than the key of the
   remembered checkpoint, which must itself still verify: old checkpoints stay verifiable).
3. With a saved state: refuse a smaller size (the log shrank) or the same size with another root
   (a fork), and check the server's consistency proof from the saved tree head to the new one.
4. Download the entries (all of them, or only those after the saved size), check each is
   canonical JSON without personal data in clear, and recompute the root from their hashes — from
   the saved frontier when resuming. It must equal the signed root.
5. Check inclusion proofs: the first and last new entries, random new ones, and (when resuming)
   random older entries fetched again, which catches an old event rewritten since the last run.
6. Save the new state (only after everything passed).

Sample positions come from the operating system's random source, so the server cannot guess
which entries will be checked. The verifier imports nothing from Quan's store or services.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from quan.domain.canonical import canonical_bytes
from quan.domain.checkpoint import Checkpoint, CheckpointError, parse_verifier_key
from quan.domain.log_keys import HistoryEntry, check_history, verify_checkpoint
from quan.domain.log_leaf import LEGACY_VERSION, PSEUDONYM_PREFIX, clean_payload, looks_personal
from quan.domain.merkle import MerkleProofError, leaf_hash, verify_consistency, verify_inclusion
from quan.domain.public_leaf import names_a_citizen
from quan.verify import state as state_file
from quan.verify.client import LogClient
from quan.verify.compact import CompactRange
from quan.verify.errors import (
    BAD_RESPONSE,
    BAD_SIGNATURE,
    ENTRIES_MISMATCH,
    FORK,
    INCLUSION_FAILED,
    KEY_CHANGED,
    LOG_SHRANK,
    MALFORMED_ENTRY,
    VerificationError,
)
from quan.verify.state import VerifierState

DEFAULT_SAMPLES = 16

Progress = Callable[[int, int], None]
"""Called with (entries downloaded, entries to download) as pages arrive."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a passing run established."""

    origin: str
    verifier_key: str
    tree_size: int
    root_hash: bytes
    previous_size: int | None  # the size proven before this run, if a state was given
    entries_checked: int
    inclusion_proofs_checked: int
    consistency_checked: bool
    key_pinned_now: bool


def verify_log(
    http: httpx.Client,
    *,
    state_path: Path | None = None,
    pinned_key: str | None = None,
    samples: int = DEFAULT_SAMPLES,
    full: bool = False,
    progress: Progress | None = None,
    rng: random.Random | None = None,
) -> Outcome:
    """Run the checks above against the site ``http`` points at; raise on any failure."""
    client = LogClient(http)
    rng = rng or random.SystemRandom()
    saved = state_file.load(state_path) if state_path else None
    history, keys, floor = _trusted_history(client, saved, pinned_key)
    origin = keys[0][0]
    if saved is not None and saved.origin != origin:
        raise VerificationError(
            KEY_CHANGED, f"the log is now named {origin!r}, but {saved.origin!r} was verified"
        )
    if saved is not None:
        floor = max(floor, _signed_by(saved.checkpoint, keys, origin, "the remembered checkpoint"))

    note = client.checkpoint()
    try:
        head, position = verify_checkpoint(note, keys, origin=origin)
    except CheckpointError as exc:
        raise VerificationError(BAD_SIGNATURE, f"the checkpoint does not verify: {exc}") from exc
    if position < floor:
        raise VerificationError(
            BAD_SIGNATURE,
            f"the checkpoint is signed by retired key {history[position].verifier_key}, older "
            f"than the key {history[floor].verifier_key} already seen",
        )
    trusted = history[position].verifier_key

    consistency_checked = False
    if saved is not None:
        consistency_checked = _check_growth(client, saved, head)

    resume = saved is not None and not full
    compact = saved.compact_range() if resume and saved else CompactRange()
    start = compact.size
    wanted = _sample(rng, start, head.size, samples)
    sampled = _download(client, compact, head.size, wanted, progress)
    if compact.root() != head.root:
        where = f"since size {start}" if start else "of the log"
        raise VerificationError(
            ENTRIES_MISMATCH,
            f"the entries {where} do not hash to the signed root of size {head.size}: "
            "an entry was rewritten, removed or inserted",
        )

    older = _sample(rng, 0, start, samples, ends=False) if resume else []
    for index in older:
        sampled[index] = _fetch_one(client, index)
    for index, value in sorted(sampled.items()):
        proof = client.inclusion_proof(index, head.size)
        try:
            verify_inclusion(value, index, head.size, proof, head.root)
        except MerkleProofError as exc:
            raise VerificationError(
                INCLUSION_FAILED, f"entry {index} is not proven in the tree of {head.size}: {exc}"
            ) from exc

    if state_path is not None:
        state_file.save(
            state_path,
            VerifierState(
                verifier_key=trusted,
                origin=head.origin,
                tree_size=head.size,
                root_hash=head.root,
                frontier=compact.hashes,
                checkpoint=note,
                verified_at=datetime.now(UTC).isoformat(),
            ),
        )
    return Outcome(
        origin=head.origin,
        verifier_key=trusted,
        tree_size=head.size,
        root_hash=head.root,
        previous_size=saved.tree_size if saved else None,
        entries_checked=head.size - start,
        inclusion_proofs_checked=len(sampled),
        consistency_checked=consistency_checked,
        key_pinned_now=saved is None and state_path is not None,
    )


def _trusted_history(
    client: LogClient, saved: VerifierState | None, pinned: str | None
) -> tuple[list[HistoryEntry], list[tuple[str, Ed25519PublicKey]], int]:
    """The checked key history, its keys, and the position of the oldest key still trusted.

    The pinned keys (the saved one, the given one) must be in the history; the chain of
    endorsements from them to the current key is checked with the rest of the history. On first
    use without a pin, every key of the history is trusted (as the one key was before rotations).
    """
    offered = client.public_key()
    try:
        name, public_key = parse_verifier_key(offered.verifier_key)
    except CheckpointError as exc:
        raise VerificationError(BAD_RESPONSE, f"the log's verifier key is unusable: {exc}") from exc
    if name != offered.key_name or public_key.public_bytes_raw() != offered.public_key:
        raise VerificationError(BAD_RESPONSE, "the log's key fields contradict each other")
    history = [HistoryEntry(key, endorsement) for key, endorsement in client.key_history()]
    try:
        keys = check_history(history)
    except CheckpointError as exc:
        raise VerificationError(KEY_CHANGED, f"the log's key history does not hold: {exc}") from exc
    if history[-1].verifier_key != offered.verifier_key:
        raise VerificationError(BAD_RESPONSE, "the public key is not the last of the key history")
    known = [entry.verifier_key for entry in history]
    floor = 0
    for source, expected in (("saved state", saved and saved.verifier_key), ("--key", pinned)):
        if not expected:
            continue
        if expected not in known:
            raise VerificationError(
                KEY_CHANGED,
                f"the log presents key {offered.verifier_key}, but the {source} pins {expected}, "
                "which its key history does not endorse",
            )
        floor = max(floor, known.index(expected))
    return history, keys, floor


def _signed_by(note: str, keys: list[tuple[str, Ed25519PublicKey]], origin: str, what: str) -> int:
    """The history position of the key that signed ``note``; raise if none of them did."""
    try:
        return verify_checkpoint(note, keys, origin=origin)[1]
    except CheckpointError as exc:
        raise VerificationError(
            BAD_SIGNATURE, f"{what} does not verify under the log's key history: {exc}"
        ) from exc


def _check_growth(client: LogClient, saved: VerifierState, head: Checkpoint) -> bool:
    """Refuse a shrunk or forked log; True if a consistency proof was checked."""
    if head.size < saved.tree_size:
        raise VerificationError(
            LOG_SHRANK,
            f"the log shrank: it now signs size {head.size}, but size {saved.tree_size} was "
            f"verified on {saved.verified_at}",
        )
    if head.size == saved.tree_size:
        if head.root != saved.root_hash:
            raise VerificationError(
                FORK, f"the log signs another root for the same size {head.size}: it was forked"
            )
        return False
    if saved.tree_size == 0:
        return False  # every tree extends the empty one; there is nothing to prove
    proof = client.consistency_proof(saved.tree_size, head.size)
    try:
        verify_consistency(saved.tree_size, head.size, proof, saved.root_hash, head.root)
    except MerkleProofError as exc:
        raise VerificationError(
            FORK,
            f"the tree of size {head.size} does not extend the verified tree of size "
            f"{saved.tree_size}: the log was rewritten or forked ({exc})",
        ) from exc
    return True


def _sample(
    rng: random.Random, start: int, end: int, count: int, *, ends: bool = True
) -> list[int]:
    """Up to ``count`` random positions in ``[start, end)``, plus both ends if ``ends``."""
    if end <= start or count <= 0:
        return []
    if end - start <= count:
        return list(range(start, end))
    chosen = set(rng.sample(range(start, end), count))
    if ends:
        chosen |= {start, end - 1}
    return sorted(chosen)


def _download(
    client: LogClient,
    compact: CompactRange,
    size: int,
    wanted: list[int],
    progress: Progress | None,
) -> dict[int, bytes]:
    """Hash entries ``compact.size…size-1`` into ``compact``; return the wanted leaf hashes."""
    first = compact.size
    wanted_set = set(wanted)
    sampled: dict[int, bytes] = {}
    while compact.size < size:
        page = client.entries(compact.size, size - 1)
        if not page:
            raise VerificationError(BAD_RESPONSE, f"/entries returned nothing at {compact.size}")
        for index, data in page:
            if index != compact.size:
                raise VerificationError(
                    BAD_RESPONSE, f"/entries answered index {index} where {compact.size} was due"
                )
            check_leaf(index, data)
            value = leaf_hash(data)
            compact.append(value)
            if index in wanted_set:
                sampled[index] = value
            if compact.size == size:
                break
        if progress is not None:
            progress(compact.size - first, size - first)
    return sampled


def _fetch_one(client: LogClient, index: int) -> bytes:
    page = client.entries(index, index)
    if len(page) != 1 or page[0][0] != index:
        raise VerificationError(BAD_RESPONSE, f"/entries did not answer entry {index}")
    check_leaf(index, page[0][1])
    return leaf_hash(page[0][1])


def check_leaf(index: int, data: bytes) -> None:
    """An entry must be canonical JSON of an event and hold no personal data in clear."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise VerificationError(MALFORMED_ENTRY, f"entry {index} is not UTF-8 JSON") from exc
    if not isinstance(document, dict) or canonical_bytes(document) != data:
        raise VerificationError(MALFORMED_ENTRY, f"entry {index} is not canonical JSON")
    subject = document.get("subject")
    payload = document.get("payload")
    if not isinstance(subject, Mapping) or not isinstance(payload, Mapping):
        raise VerificationError(MALFORMED_ENTRY, f"entry {index} lacks subject or payload")
    in_clear: list[bool] = []

    def keep_pseudonyms(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(PSEUDONYM_PREFIX):
            return value
        in_clear.append(True)
        return value

    _, paths = clean_payload(payload, str(subject.get("type", "")), keep_pseudonyms)
    subject_id = subject.get("id")
    if in_clear or (isinstance(subject_id, str) and looks_personal(subject_id)):
        shown = ", ".join(paths) or "subject.id"
        raise VerificationError(
            MALFORMED_ENTRY, f"entry {index} carries personal data in clear (at {shown})"
        )
    # Format 2 names citizens by per-program pseudonyms only: a stable citizen id would link
    # one person's records across programs (format 1 entries predate the rule).
    if document.get("v") != LEGACY_VERSION and names_a_citizen(data.decode("utf-8")):
        raise VerificationError(MALFORMED_ENTRY, f"entry {index} names a citizen by a stable id")
