"""What the verifier remembers between runs: the pinned key and the last checkpoint it proved.

A small JSON file, written atomically (temporary file, then rename) only after a run passed, so a
failed or interrupted run never moves the trusted point. It holds the verifier key string (pinned
on first use: a different key later is refused), the last verified size, root and signed
checkpoint, and the tree's frontier hashes so the next run hashes only new entries.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quan.verify.compact import CompactRange
from quan.verify.errors import STATE_INVALID, VerificationError

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class VerifierState:
    verifier_key: str
    origin: str
    tree_size: int
    root_hash: bytes
    frontier: tuple[bytes, ...]
    checkpoint: str
    verified_at: str

    def compact_range(self) -> CompactRange:
        return CompactRange(self.tree_size, self.frontier)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _unb64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError("expected a base64 string")
    return base64.b64decode(value.encode("ascii"), validate=True)


def load(path: Path) -> VerifierState | None:
    """The saved state, or None if ``path`` does not exist yet (first run)."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unknown state version {data.get('version')!r}")
        state = VerifierState(
            verifier_key=str(data["verifier_key"]),
            origin=str(data["origin"]),
            tree_size=int(data["tree_size"]),
            root_hash=_unb64(data["root_hash"]),
            frontier=tuple(_unb64(h) for h in data["frontier"]),
            checkpoint=str(data["checkpoint"]),
            verified_at=str(data["verified_at"]),
        )
        # The saved frontier must still hash to the saved root, or the file was damaged.
        if state.compact_range().root() != state.root_hash:
            raise ValueError("frontier hashes do not lead to the saved root")
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise VerificationError(STATE_INVALID, f"cannot use state file {path}: {exc}") from exc
    return state


def save(path: Path, state: VerifierState) -> None:
    data = {
        "version": STATE_VERSION,
        "verifier_key": state.verifier_key,
        "origin": state.origin,
        "tree_size": state.tree_size,
        "root_hash": _b64(state.root_hash),
        "frontier": [_b64(h) for h in state.frontier],
        "checkpoint": state.checkpoint,
        "verified_at": state.verified_at,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
