"""Signed checkpoints of Quan's transparency log, in the C2SP tlog-checkpoint / signed-note format.

This module owns the text form of a signed tree head: the checkpoint body (origin line, decimal
tree size, base64 root hash; https://c2sp.org/tlog-checkpoint), the signed-note envelope around
it (a blank line, then ``— <key name> <base64(key ID || signature)>`` lines;
https://c2sp.org/signed-note) with Ed25519 signatures, and the ``name+keyid+key`` strings the
note ecosystem uses to pass keys around. Using the standard format means any C2SP tool (Go's
``sumdb/note``, witnesses, monitors) can check Quan's checkpoints without Quan's code.

It is pure: no clock, no storage. Merkle hashing itself lives in :mod:`quan.domain.merkle`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from quan.domain.merkle import HASH_SIZE

ED25519_TYPE: Final = 0x01
"""Signed-note signature type identifier for Ed25519."""

SIGNATURE_PREFIX: Final = "\u2014 "
"""Every signature line starts with an em dash and a space."""

MAX_SIGNATURES: Final = 100
"""Signatures accepted in one note; the spec asks for at least 16 and a limit against abuse."""

MAX_TREE_SIZE: Final = 2**64 - 1
"""Tree sizes are uint64 in every other implementation; larger values would not interoperate."""

_SIZE_LINE = re.compile(r"0|[1-9][0-9]*")
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")
_SIGNER_KEY_PREFIX: Final = "PRIVATE+KEY+"


class CheckpointError(ValueError):
    """A checkpoint, signed note or key string is malformed, unsigned by the key, or forged."""


# --- text rules shared by notes and keys -------------------------------------------------------


def _has_control_characters(text: str, *, allow_newline: bool) -> bool:
    return any(ch < " " and not (allow_newline and ch == "\n") for ch in text)


def _check_key_name(name: str) -> None:
    # Names delimit fields both in signature lines (spaces) and in key strings ("+").
    if not name:
        raise CheckpointError("key name must not be empty")
    if any(ch.isspace() or ch == "+" for ch in name) or _has_control_characters(
        name, allow_newline=False
    ):
        raise CheckpointError(f"key name {name!r} must not contain spaces, '+' or controls")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise CheckpointError(f"{what} is not valid base64") from exc


def _public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes_raw()


def key_id(key_name: str, public_key: Ed25519PublicKey) -> int:
    """Signed-note key ID: first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key)."""
    _check_key_name(key_name)
    digest = hashlib.sha256(
        key_name.encode("utf-8") + b"\n" + bytes([ED25519_TYPE]) + _public_bytes(public_key)
    ).digest()
    return int.from_bytes(digest[:4], "big")


# --- key strings -------------------------------------------------------------------------------


def format_verifier_key(key_name: str, public_key: Ed25519PublicKey) -> str:
    """Verifier key string ``<name>+<hex key ID>+<base64(0x01 || public key)>``."""
    material = base64.b64encode(bytes([ED25519_TYPE]) + _public_bytes(public_key)).decode()
    return f"{key_name}+{key_id(key_name, public_key):08x}+{material}"


def _parse_key_string(text: str, what: str) -> tuple[str, int, bytes]:
    # The base64 part may itself contain "+", so split off only name and ID.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError(f"{what} must look like <name>+<key id>+<base64 key>")
    name, id_hex, material_b64 = parts
    _check_key_name(name)
    if not _KEY_ID_HEX.fullmatch(id_hex):
        raise CheckpointError(f"{what} key ID must be 8 hex digits, got {id_hex!r}")
    material = _b64decode(material_b64, f"{what} key material")
    if len(material) != 33 or material[0] != ED25519_TYPE:
        raise CheckpointError(f"{what} is not an Ed25519 key (type 0x01 and 32 bytes)")
    return name, int(id_hex, 16), material[1:]


def parse_verifier_key(text: str) -> tuple[str, Ed25519PublicKey]:
    """Read a verifier key string; returns ``(key name, public key)``.

    The key ID in the string must match the one computed from name and key, so a typo in either
    part is caught here rather than as a confusing "unknown key" later.
    """
    name, stated_id, raw = _parse_key_string(text.strip(), "verifier key")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise CheckpointError("verifier key is not a valid Ed25519 public key") from exc
    if key_id(name, public_key) != stated_id:
        raise CheckpointError("verifier key ID does not match its name and public key")
    return name, public_key


def format_signer_key(key_name: str, private_key: Ed25519PrivateKey) -> str:
    """Signer key string ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``.

    Same layout as Go's ``sumdb/note`` so keys can move between tools. It is a secret: keep it
    in the secret store, never in logs or the database.
    """
    kid = key_id(key_name, private_key.public_key())
    material = base64.b64encode(bytes([ED25519_TYPE]) + private_key.private_bytes_raw()).decode()
    return f"{_SIGNER_KEY_PREFIX}{key_name}+{kid:08x}+{material}"


def parse_signer_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    """Read a signer key string; returns ``(key name, private key)``."""
    text = text.strip()
    if not text.startswith(_SIGNER_KEY_PREFIX):
        raise CheckpointError("signer key must start with PRIVATE+KEY+")
    name, stated_id, seed = _parse_key_string(text[len(_SIGNER_KEY_PREFIX) :], "signer key")
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    if key_id(name, private_key.public_key()) != stated_id:
        raise CheckpointError("signer key ID does not match its name and key")
    return name, private_key


# --- signed notes ------------------------------------------------------------------------------


def _check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise CheckpointError("note text must end with a newline")
    if _has_control_characters(text, allow_newline=True):
        raise CheckpointError("note text must not contain control characters")


def sign_note(text: str, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """Wrap ``text`` in a signed note with one Ed25519 signature by ``key_name``."""
    _check_note_text(text)
    kid = key_id(key_name, private_key.public_key())
    signature = private_key.sign(text.encode("utf-8"))
    blob = base64.b64encode(kid.to_bytes(4, "big") + signature).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{key_name} {blob}\n"


def open_note(note: str | bytes, key_name: str, public_key: Ed25519PublicKey) -> str:
    """Return the text of ``note`` once a signature by the given key verifies.

    Per the signed-note rules, signatures by other keys (another name, or the same name with
    another key ID) are ignored, which is what lets witnesses co-sign and keys rotate; a
    signature claiming to be by this key that does not verify makes the whole note invalid.
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError("signed note is not valid UTF-8") from exc
    if _has_control_characters(note, allow_newline=True):
        raise CheckpointError("signed note must not contain control characters")
    # The text may contain blank lines; the signatures start after the LAST one.
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("signed note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise CheckpointError("signed note has no signatures")
    if not block.endswith("\n"):
        raise CheckpointError("signed note must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"signed note has more than {MAX_SIGNATURES} signatures")

    wanted_id = key_id(key_name, public_key)
    verified = False
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"malformed signature line {line[:80]!r}")
        fields = line[len(SIGNATURE_PREFIX) :].split(" ")
        if len(fields) != 2 or not fields[0] or not fields[1]:
            raise CheckpointError(f"malformed signature line {line[:80]!r}")
        name, blob_b64 = fields
        blob = _b64decode(blob_b64, "signature")
        if len(blob) < 5:
            raise CheckpointError("signature is too short to hold a key ID and a signature")
        if name != key_name or int.from_bytes(blob[:4], "big") != wanted_id:
            continue
        try:
            public_key.verify(blob[4:], text.encode("utf-8"))
        except InvalidSignature as exc:
            raise CheckpointError(f"signature by {key_name} does not verify") from exc
        verified = True
    if not verified:
        raise CheckpointError(f"signed note carries no signature by key {key_name}")
    return text


# --- checkpoints -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: the log's ``origin``, its ``size`` in leaves and the Merkle ``root``.

    ``extensions`` are the optional opaque lines after the root hash. Quan never writes them
    (the spec does not recommend them: monitors cannot audit them) but keeps any it reads, so
    a parsed checkpoint shows everything the signature covered.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or _has_control_characters(self.origin, allow_newline=False):
            raise CheckpointError("checkpoint origin must be a non-empty single line")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError("checkpoint size must be an integer")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint size {self.size} is out of range")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise CheckpointError(f"checkpoint root must be {HASH_SIZE} bytes")
        for line in self.extensions:
            if not line or _has_control_characters(line, allow_newline=False):
                raise CheckpointError("checkpoint extension lines must be non-empty single lines")


def format_body(checkpoint: Checkpoint) -> str:
    """The note text of ``checkpoint``: origin, size and base64 root, one per line."""
    lines = [
        checkpoint.origin,
        str(checkpoint.size),
        base64.b64encode(checkpoint.root).decode(),
        *checkpoint.extensions,
    ]
    return "".join(f"{line}\n" for line in lines)


def parse_body(text: str) -> Checkpoint:
    """Read checkpoint note text (unsigned). Only trust the result of :func:`parse_and_verify`."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, size and root hash lines")
    origin, size_line, root_line, *extensions = lines
    if not _SIZE_LINE.fullmatch(size_line):
        raise CheckpointError(f"checkpoint size {size_line[:40]!r} is not a plain decimal")
    root = _b64decode(root_line, "checkpoint root hash")
    # Only the canonical encoding is accepted, so one tree head has exactly one text form.
    if len(root) != HASH_SIZE or base64.b64encode(root).decode() != root_line:
        raise CheckpointError("checkpoint root hash is not the base64 of 32 bytes")
    size = int(size_line)
    if size > MAX_TREE_SIZE:
        raise CheckpointError("checkpoint size is out of range")
    return Checkpoint(origin=origin, size=size, root=root, extensions=tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed checkpoint text, ready to publish. The key name should equal the origin."""
    return sign_note(format_body(checkpoint), key_name, private_key)


def parse_and_verify(
    text: str | bytes,
    key_name: str,
    public_key: Ed25519PublicKey,
    *,
    origin: str | None = None,
) -> Checkpoint:
    """Verify a signed checkpoint by ``key_name``/``public_key`` and return its contents.

    Pass ``origin`` to also require the checkpoint to be for that log: a valid signature only
    says who signed, not which log the signer meant.
    """
    checkpoint = parse_body(open_note(text, key_name, public_key))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}")
    return checkpoint
