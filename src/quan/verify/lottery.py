"""Verify a quan-lottery-v2 draw from the transparency log, never from the server's own list.

Only HTTP (the public lottery record and list, and the log's ``/api/v1/audit`` endpoints) and the
pure rules of :mod:`quan.domain`; nothing here reads Quan's database. :func:`verify_v2`:

1. checks the close checkpoint's Ed25519 signature under the log's key (``--key`` pins one
   obtained out of band), and that the latest signed checkpoint extends it (consistency proof);
2. downloads every entry up to the latest checkpoint, recomputes both roots from the leaves (so
   the registrations it reads are exactly what the close checkpoint signs), and checks inclusion
   proofs of the first, the last and random registration leaves against the close checkpoint;
3. rebuilds the registrant list from the batch's registration leaves before ``close.size`` and
   fails on any registration leaf of the batch at or after it;
4. checks the commitment event, the beacon event (exactly one, after the close, entered by someone
   other than whoever made the commitment, with the published value, close checkpoint and reserved
   pools' members digest), SHA-256(secret) = commitment and the seed's derivation;
5. compares the server's list with the logged one (every difference is a finding), and recomputes
   the digest and the winners from the logged list (:func:`winners_problems`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
from collections.abc import Mapping
from typing import Any

import httpx

from quan.domain import lottery as algo
from quan.domain import lottery_v2 as v2
from quan.domain.checkpoint import CheckpointError, parse_and_verify, parse_verifier_key
from quan.domain.errors import QuanError
from quan.domain.merkle import MerkleProofError, leaf_hash, verify_consistency, verify_inclusion
from quan.verify.client import LogClient
from quan.verify.compact import CompactRange
from quan.verify.errors import BAD_SIGNATURE, VerificationError

SAMPLES = 16  # random registration leaves whose inclusion proofs are checked, besides both ends


def winners_problems(
    record: Mapping[str, Any],
    seed: bytes,
    entries: list[algo.Registrant],
    members: dict[str, set[str]],
    commitment: str,
) -> list[str]:
    """The general pool's k and every pool's winners recomputed from ``entries`` (the draw's
    registrants) with ``seed``; ``commitment`` is what SHA-256(seed) is compared with."""
    problems: list[str] = []
    pools_in: list[dict[str, Any]] = record["pools"]
    reserved = [
        algo.Pool(p["name"], int(p["base_k"]), frozenset(members.get(p["name"], ())))
        for p in pools_in
        if p["reserved"]
    ]
    general = [p for p in pools_in if not p["reserved"]]
    if len(general) != 1:
        return [*problems, "the published pools do not have exactly one general pool"]
    base = int(general[0]["base_k"])
    try:
        first = algo.draw(seed, entries, [*reserved, algo.Pool(general[0]["name"], base)])
    except QuanError as exc:
        return [*problems, f"the published data cannot be drawn: {exc.code} {exc.params}"]
    released = sum(r.unfilled for r in first.pools if r.name != general[0]["name"])
    if int(general[0]["k"]) != base + released:
        problems.append(
            f"general pool k: published {general[0]['k']}, expected {base} + {released} released"
        )
    pools = [*reserved, algo.Pool(general[0]["name"], base + released)]
    published = record.get("winners") or {}
    try:
        mismatches = algo.verify_draw(
            commitment, seed, entries, pools, published, record["registrants_digest"]
        )
    except QuanError as exc:
        return [*problems, f"the published data cannot be drawn: {exc.code} {exc.params}"]
    for m in mismatches:
        if m.what == "winner" and m.published is None:
            problems.append(f"pool {m.pool}: {m.expected} should have won but is not published")
        elif m.what == "winner":
            problems.append(f"pool {m.pool}: {m.published} is published but did not win")
        else:
            problems.append(
                f"{m.what}{f' (pool {m.pool})' if m.pool else ''}: "
                f"expected {m.expected}, published {m.published}"
            )
    return problems


class _Scan:
    """What the log says about one batch, read entry by entry."""

    def __init__(self, batch_id: str, close_size: int, rng: random.Random) -> None:
        self.batch_id = batch_id
        self.close_size = close_size
        self.needle = json.dumps(batch_id).encode("utf-8")
        self.logged: dict[str, int] = {}  # pseudonym → tickets, before the close
        self.after_close: list[tuple[int, str]] = []
        self.beacons: list[tuple[int, dict[str, Any]]] = []
        self.committed: list[tuple[int, dict[str, Any]]] = []
        self.problems: list[str] = []
        self.samples: dict[int, bytes] = {}  # registration leaves to prove: both ends + reservoir
        self._reservoir: list[tuple[int, bytes]] = []
        self._seen = 0
        self._last: tuple[int, bytes] | None = None
        self._rng = rng

    def take(self, index: int, data: bytes, hashed: bytes) -> None:
        if self.needle not in data:  # most entries are about something else: skip the parse
            return
        document = json.loads(data.decode("utf-8"))
        subject = document.get("subject") or {}
        if subject.get("type") != "batch" or subject.get("id") != self.batch_id:
            return
        kind = document.get("type")
        if kind == v2.COMMITTED:
            self.committed.append((index, document))
        elif kind == v2.BEACON:
            self.beacons.append((index, document))
        elif kind == v2.REGISTERED:
            self._registration(index, document, hashed)

    def _registration(self, index: int, document: dict[str, Any], hashed: bytes) -> None:
        found = v2.registration_of(document.get("payload") or {})
        if found is None:
            self.problems.append(f"log entry {index}: a registration leaf of another shape")
            return
        pseudonym, tickets = found
        if index >= self.close_size:
            self.after_close.append((index, pseudonym))
            return
        if pseudonym in self.logged:
            self.problems.append(f"log entry {index}: {pseudonym} registered twice")
            return
        self.logged[pseudonym] = tickets
        if not self.samples:
            self.samples[index] = hashed
        self._last = (index, hashed)
        self._seen += 1
        if len(self._reservoir) < SAMPLES:
            self._reservoir.append((index, hashed))
        else:
            slot = self._rng.randrange(self._seen)
            if slot < SAMPLES:
                self._reservoir[slot] = (index, hashed)

    def sampled(self) -> dict[int, bytes]:
        chosen = dict(self.samples)
        chosen.update(self._reservoir)
        if self._last is not None:
            chosen[self._last[0]] = self._last[1]
        return chosen


def _head(note: str, key: str, what: str) -> Any:
    name, public_key = parse_verifier_key(key)
    try:
        return parse_and_verify(note, name, public_key, origin=name)
    except CheckpointError as exc:
        raise VerificationError(BAD_SIGNATURE, f"the {what} does not verify: {exc}") from exc


def verify_v2(
    http: httpx.Client,
    batch_id: str,
    record: Mapping[str, Any],
    listed: list[dict[str, Any]],
    *,
    pinned_key: str | None = None,
    rng: random.Random | None = None,
) -> list[str]:
    """Every way a v2 draw differs from what the log proves (empty: it verifies)."""
    close, beacon = record.get("close_checkpoint"), record.get("beacon")
    if close is None or beacon is None:
        return ["the public value (beacon) has not been entered yet: the lottery is not closed"]
    if record.get("seed") is None or record.get("secret") is None:
        return ["the lottery has not been drawn yet (no secret published)"]
    client = LogClient(http)
    key = client.public_key().verifier_key
    if pinned_key is not None and pinned_key != key:
        return [f"the log presents key {key}, but --key pins {pinned_key}"]
    close_head = _head(str(close["checkpoint"]), key, "close checkpoint")
    try:
        close_root = base64.b64decode(str(close["root"]), validate=True)
    except (binascii.Error, ValueError):
        return ["the published close checkpoint root is not base64"]
    problems: list[str] = []
    if close_head.size != close["size"] or close_head.root != close_root:
        problems.append("the published close checkpoint size/root differ from its signed text")
    latest = _head(client.checkpoint(), key, "latest checkpoint")
    if latest.size < close_head.size:
        return [*problems, f"the log shrank below the close checkpoint ({latest.size})"]
    if latest.size > close_head.size:
        proof = client.consistency_proof(close_head.size, latest.size)
        try:
            verify_consistency(close_head.size, latest.size, proof, close_head.root, latest.root)
        except MerkleProofError as exc:
            return [*problems, f"the log does not extend the close checkpoint: {exc}"]
    scan = _Scan(batch_id, close_head.size, rng or random.SystemRandom())
    compact = CompactRange()
    while compact.size < latest.size:
        page = client.entries(compact.size, latest.size - 1)
        if not page:
            return [*problems, f"the log answered no entries at {compact.size}"]
        for index, data in page:
            if index != compact.size:
                return [*problems, f"the log answered entry {index} where {compact.size} was due"]
            hashed = leaf_hash(data)
            compact.append(hashed)
            scan.take(index, data, hashed)
            if compact.size == close_head.size and compact.root() != close_head.root:
                return [*problems, "the log's entries do not hash to the close checkpoint's root"]
            if compact.size == latest.size:
                break
    if compact.root() != latest.root:
        return [*problems, "the log's entries do not hash to the latest signed root"]
    for index, hashed in sorted(scan.sampled().items()):
        proof = client.inclusion_proof(index, close_head.size)
        try:
            verify_inclusion(hashed, index, close_head.size, proof, close_head.root)
        except MerkleProofError as exc:
            problems.append(f"registration {index} is not proven in the close checkpoint: {exc}")
    problems.extend(scan.problems)
    problems.extend(
        f"{p} registered after the close (log entry {i}, close size {close_head.size})"
        for i, p in scan.after_close
    )
    members: dict[str, set[str]] = {}
    for item in listed:
        for g in item.get("groups", []):
            members.setdefault(g, set()).add(item["pseudonym"])
    problems.extend(_events_problems(scan, record, (close_head.size, close_root), members))
    problems.extend(_list_problems(scan.logged, listed, record))
    try:
        secret = bytes.fromhex(str(record["secret"]))
        seed = v2.derive_seed(secret, close_root, str(beacon["value"]))
    except (ValueError, QuanError):
        return [*problems, "the published secret is not 32 bytes of hex"]
    if hashlib.sha256(secret).hexdigest() != str(record["commitment"]).lower():
        problems.append("the secret does not match the commitment")
    if str(record["seed"]).lower() != seed.hex():
        problems.append(f"seed: expected {seed.hex()} from secret, close root and beacon")
    entries = [algo.Registrant(p, t) for p, t in scan.logged.items()]
    drawn_members = {g: names & scan.logged.keys() for g, names in members.items()}
    return problems + winners_problems(record, seed, entries, drawn_members, algo.commitment(seed))


def _events_problems(
    scan: _Scan,
    record: Mapping[str, Any],
    close: tuple[int, bytes],
    members: Mapping[str, set[str]],
) -> list[str]:
    """The commitment and beacon events; ``members``: the reserved pools' members as listed."""
    close_size, close_root = close
    problems: list[str] = []
    if len(scan.committed) != 1:
        return [f"the log holds {len(scan.committed)} commitment events of the batch, not 1"]
    committed_at, committed = scan.committed[0]
    payload = committed.get("payload") or {}
    logged_commitment = (payload.get("commitment"), payload.get("algorithm"))
    if logged_commitment != (record["commitment"], v2.ALGORITHM):
        problems.append("the logged commitment event differs from the published commitment")
    if committed_at >= close_size:
        problems.append("the commitment was logged after the close")
    if len(scan.beacons) != 1:
        return [*problems, f"the log holds {len(scan.beacons)} beacon events of the batch, not 1"]
    index, event = scan.beacons[0]
    logged = event.get("payload") or {}
    beacon = record["beacon"]
    if index < close_size:
        problems.append(f"the beacon was logged before the close (entry {index})")
    if logged.get("beacon") != beacon["value"] or logged.get("source") != beacon["source"]:
        problems.append("the published beacon differs from the logged one")
    if logged.get("close_size") != close_size or logged.get("close_root") != close_root.hex():
        problems.append("the beacon event names another close checkpoint")
    if event.get("actor") == committed.get("actor"):
        problems.append(f"the beacon was entered by {event.get('actor')}, who made the commitment")
    if logged.get("members_digest") != v2.members_digest(members):
        problems.append("the reserved pools' members differ from those fixed with the beacon")
    return problems


def _list_problems(
    logged: dict[str, int], listed: list[dict[str, Any]], record: Mapping[str, Any]
) -> list[str]:
    problems: list[str] = []
    served = {str(item["pseudonym"]): int(item["tickets"]) for item in listed}
    problems.extend(
        f"{p} is in the server's list but was not logged before the close"
        for p in sorted(served.keys() - logged.keys())
    )
    problems.extend(
        f"{p} was logged before the close but is missing from the server's list"
        for p in sorted(logged.keys() - served.keys())
    )
    problems.extend(
        f"{p}: the server lists {served[p]} tickets, the log {logged[p]}"
        for p in sorted(served.keys() & logged.keys())
        if served[p] != logged[p]
    )
    if record.get("registrants") != len(logged):
        problems.append(
            f"registrant count: published {record.get('registrants')}, logged {len(logged)}"
        )
    return problems
