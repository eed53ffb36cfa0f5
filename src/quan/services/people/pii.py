"""Personal and confidential data at rest: encryption, keyed lookup hashes and masks.

Everything derives from one master secret, ``Settings.pii_key``, through HKDF-SHA256 with a
purpose label, so the encryption key and the lookup-hash key are independent and a new purpose
never reuses another's key.

- :func:`encrypt` / :func:`decrypt`: AES-256-GCM with a random 96-bit nonce. The associated data
  names the row and field a value belongs to (``merchant:mch_…:bank_account``), so a ciphertext
  copied into another row or column fails to decrypt instead of showing someone else's data.
  A token reads ``v1.<base64url(nonce ‖ ciphertext ‖ tag)>``; the version leaves room to rotate
  keys without guessing which key sealed an old row.
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

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = "v1"


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


def encrypt(key: bytes, plaintext: str, aad: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), aad.encode())
    return f"{VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(key: bytes, token: str, aad: str) -> str:
    version, sep, body = token.partition(".")
    if version != VERSION or not sep:
        raise DecryptionError("unknown token version")
    try:
        raw = base64.urlsafe_b64decode(body.encode("ascii"))
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise DecryptionError("token is not base64url") from exc
    if len(raw) <= NONCE_BYTES:
        raise DecryptionError("token too short")
    try:
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad.encode())
    except InvalidTag as exc:
        raise DecryptionError("wrong key, wrong row or tampered token") from exc
    return plain.decode()


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
