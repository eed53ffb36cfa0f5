"""The public keys a terminal verifies tokens with, as ``GET /api/v1/offline/keys`` serves them.

The document is ``{"keys": [{"key_id": "<8 hex>", "algorithm": "Ed25519", "public_key":
"<base64 of the raw 32 bytes>"}]}``; a bare base64 key is accepted too (its id is computed). A key
whose stated id does not match its bytes is refused: the id is what a token names.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from quan.domain.offline_token import key_id_of

Keyring = Mapping[str, Ed25519PublicKey]


class KeyringError(ValueError):
    """The key document cannot be used."""


def public_key(raw_b64: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(raw_b64.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise KeyringError("not a base64 Ed25519 public key") from exc


def load_keyring(text: str) -> dict[str, Ed25519PublicKey]:
    """Keys by hex id, from the keys document or a single base64 key."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        key = public_key(stripped)
        return {key_id_of(key).hex(): key}
    try:
        document: Any = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise KeyringError("the key document is not JSON") from exc
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise KeyringError('the key document has no "keys"')
    ring: dict[str, Ed25519PublicKey] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("algorithm") != "Ed25519":
            raise KeyringError("every key must be an Ed25519 key")
        key = public_key(str(entry.get("public_key", "")))
        key_id = key_id_of(key).hex()
        if entry.get("key_id") != key_id:
            raise KeyringError(f"key id {entry.get('key_id')!r} does not match its key")
        ring[key_id] = key
    return ring
