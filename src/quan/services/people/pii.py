"""Personal and confidential data at rest: encryption, keyed lookup hashes and masks.

Everything derives from one master secret, ``Settings.pii_key``, through HKDF-SHA256 with a
purpose label, so the encryption key and the lookup-hash key are independent and a new purpose
never reuses another's key.

- :func:`encrypt` / :func:`decrypt`: AES-256-GCM with a random 96-bit nonce. The associated data
  names the row and field a value belongs to (``merchant:mch_…:bank_account``), so a ciphertext
  copied into another row or column fails to decrypt instead of showing someone else's data.
  A token reads ``v2.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``: the key id
  (:func:`key_id`) says which key sealed it, so after a rotation old rows stay readable and the
  re-encryption job (:mod:`quan.services.operations.pii_rotation`) finds the rows still sealed
  under a retired key. Tokens written before key ids, ``v1.<base64url(…)>``, still decrypt.
- :class:`Keyring`: the key new tokens are sealed with plus the retired keys that still read old
  ones; :func:`keyring` builds one per purpose from the settings. ``encrypt`` and ``decrypt``
  take a plain key or a keyring.
- :func:`lookup_hash`: HMAC-SHA256, for finding rows by a value that is stored encrypted
  (equality only; without the key the hash cannot be reversed by trying every phone number).
- :func:`mask_phone`, :func:`mask_tail`: what a screen may show.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from quan.config import Settings

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = "v2"  # v2.<key id>.<sealed>
LEGACY_VERSION = "v1"  # v1.<sealed>: before key ids, sealed under the key derived from pii_key
KEY_ID_CHARS = 8


class DecryptionError(ValueError):
    """The token is not one of ours, was sealed for another row or key, or was tampered with."""


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose (e.g. ``"aes-gcm/merchant"``) from the master secret."""
    if len(master) < 16:
        raise ValueError("the PII master key must hold at least 16 bytes")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=f"quan/pii/{purpose}".encode(),
    )
    return hkdf.derive(master)


def key_id(key: bytes) -> str:
    """A short public name of a key (8 hex digits of a hash); reveals nothing about the key."""
    return hashlib.sha256(b"quan/pii/key-id\x00" + key).hexdigest()[:KEY_ID_CHARS]


@dataclass(frozen=True, slots=True, repr=False)
class Keyring:
    """The key that seals new values and the retired keys that still open old ones (one purpose)."""

    current: bytes
    retired: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        for key in (self.current, *self.retired):
            if len(key) != KEY_BYTES:
                raise ValueError(f"a sealing key must hold {KEY_BYTES} bytes")

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def keys(self) -> tuple[bytes, ...]:
        return (self.current, *self.retired)

    def find(self, kid: str) -> bytes | None:
        return next((key for key in self.keys() if key_id(key) == kid), None)

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is already sealed under the current key (nothing to re-encrypt)."""
        return token.startswith(f"{VERSION}.{self.current_id}.")

    def __repr__(self) -> str:
        return f"Keyring(current={self.current_id}, retired={len(self.retired)})"


Key = bytes | Keyring
"""What :func:`encrypt` and :func:`decrypt` take: one key, or a keyring during a rotation."""


def keyring(settings: Settings, purpose: str) -> Keyring:
    """The sealing keyring of one purpose (e.g. ``"aes-gcm/citizen"``) from the settings.

    New values are sealed under ``QUAN_PII_SEALING_KEY`` when it is set, else under
    ``QUAN_PII_KEY``; ``QUAN_PII_RETIRED_KEYS`` (comma-separated) and ``QUAN_PII_KEY`` (when it is
    no longer the sealing key) still open old values. Lookup hashes and pseudonyms always derive
    from ``QUAN_PII_KEY``: they are compared with stored and published values, so they never rotate.
    """
    root = settings.secret_bytes("pii_key")
    sealing = settings.secret_bytes("pii_sealing_key") if settings.pii_sealing_key else root
    retired = [*settings.retired_pii_keys(), root]
    masters = [m for i, m in enumerate(retired) if m != sealing and m not in retired[:i]]
    return Keyring(
        current=derive_key(sealing, purpose),
        retired=tuple(derive_key(master, purpose) for master in masters),
    )


def encrypt(key: Key, plaintext: str, aad: str) -> str:
    current = key.current if isinstance(key, Keyring) else key
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(current).encrypt(nonce, plaintext.encode(), aad.encode())
    return f"{VERSION}.{key_id(current)}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(key: Key, token: str, aad: str) -> str:
    ring = key if isinstance(key, Keyring) else Keyring(key)
    version, sep, rest = token.partition(".")
    candidates: Iterable[bytes]
    if version == VERSION and sep:
        kid, sep, body = rest.partition(".")
        found = ring.find(kid) if sep else None
        if found is None:
            shown = kid[:KEY_ID_CHARS]
            raise DecryptionError(f"sealed under key {shown!r}, which is not configured")
        candidates = (found,)
    elif version == LEGACY_VERSION and sep:
        body, candidates = rest, ring.keys()  # no key id: the tag tells the right key
    else:
        raise DecryptionError("unknown token version")
    try:
        raw = base64.urlsafe_b64decode(body.encode("ascii"))
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise DecryptionError("token is not base64url") from exc
    if len(raw) <= NONCE_BYTES:
        raise DecryptionError("token too short")
    for candidate in candidates:
        try:
            plain = AESGCM(candidate).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad.encode())
        except InvalidTag:
            continue
        return plain.decode()
    raise DecryptionError("wrong key, wrong row or tampered token")


def lookup_hash(key: bytes, value: str) -> str:
    """Hex HMAC-SHA256 of a normalized value: equal values, equal hashes; nothing else learnt."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``: enough for a person to recognise their own number."""
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_tail(value: str, keep: int = 4) -> str:
    """All but the last ``keep`` characters hidden: ``6222021234567890123`` → ``****0123``."""
    if len(value) <= keep:
        return "*" * len(value)
    return f"****{value[-keep:]}"
