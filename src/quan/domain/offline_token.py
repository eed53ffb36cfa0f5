"""Signed offline voucher tokens: what the wallet's QR code carries, verifiable with no network.

A token reads ``QV1:`` followed by the base45 text of ``body ‖ signature`` (see
``docs/offline-tokens.md`` for the byte layout). The body is packed binary — fixed fields, then
unsigned LEB128 varints — so a typical token is about 110 bytes and fits a small QR code in
alphanumeric mode. The signature is Ed25519 over ``CONTEXT ‖ body``; the body names the signing key
by a 4-byte key id (the first bytes of SHA-256 of the raw public key), so keys can rotate.

The body carries what a terminal needs to accept or refuse the voucher on its own: the voucher id,
its value (face value or percentage cap), minimum spend, categories, scenes, a merchant scope
summary, the issuer, the validity window and when the token was made. Everything else (usage hours,
daily caps, whether the voucher was already spent) is judged by the server when the terminal syncs.

Pure: packing, parsing, signing with a given key and verifying against a given keyring.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from quan.domain import base45
from quan.domain.errors import Kind, QuanError, define
from quan.domain.merchants import Scene
from quan.domain.voucher_types import Discount, DiscountKind, ScopeKind, VoucherTypeSpec

PREFIX = "QV1:"
VERSION = 1
CONTEXT = b"quan/offline-token/v1\n"  # domain separation: this signature means nothing elsewhere
KEY_ID_BYTES = 4
TAG_BYTES = 4
SIGNATURE_BYTES = 64
MAX_SCOPE_ITEMS = 4  # longer region or merchant lists are left to the server
MAX_TOKEN_CHARS = 400

# The bit of each category in the token's category mask. Append only: a bit keeps its meaning.
CATEGORY_BITS: tuple[str, ...] = (
    "catering",
    "accommodation",
    "tourism",
    "culture_entertainment",
    "sports",
    "transport",
    "education",
    "health",
    "elderly_care",
    "childcare",
    "housekeeping",
    "personal_care",
    "residential_services",
)

# Voucher ids are ``vch_`` + 26 symbols of this alphabet (quan.store.ids): 130 bits in 17 bytes.
_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_ID_PREFIX = "vch_"
_ID_SYMBOLS = 26
_ID_BYTES = 17

INVALID_OFFLINE_TOKEN = define(
    "INVALID_OFFLINE_TOKEN",
    Kind.INVALID,
    zh="券二维码无效或被篡改（{reason}），请让持券人刷新后重试",
    en="The voucher QR token is not valid or was tampered with ({reason}); ask the holder to "
    "refresh it",
)

# ``reason`` of INVALID_OFFLINE_TOKEN.
R_FORMAT = "format"  # not a QV1 token, not base45, or too short or long
R_VERSION = "version"
R_UNKNOWN_KEY = "unknown_key"  # signed by a key the verifier does not hold
R_SIGNATURE = "signature"  # forged or altered
R_FIELDS = "fields"  # signed, but the body does not parse (a bug, or a foreign signer)


class _Flag(IntEnum):
    PERCENT = 1
    OFFLINE = 2
    ONLINE = 4
    SCOPE_LISTED = 32  # the scope's regions or merchants are in the token


_SCOPE_SHIFT = 3
_SCOPE_CODES = {ScopeKind.ALL: 0, ScopeKind.REGIONS: 1, ScopeKind.MERCHANTS: 2}
_SCOPE_KINDS = {v: k for k, v in _SCOPE_CODES.items()}


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a token says about its voucher (all times are whole minutes, UTC)."""

    voucher_id: str
    key_id: str  # hex
    issuer_tag: bytes
    discount: Discount
    categories: tuple[str, ...]
    scenes: tuple[Scene, ...]
    scope_kind: ScopeKind
    scope_listed: bool  # the terminal can check the scope (False: list too long, server checks)
    region_codes: tuple[str, ...]
    merchant_tags: tuple[bytes, ...]
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime

    @property
    def value_fen(self) -> int:
        """The most the voucher takes off an order: the face value, or the percentage's cap."""
        return self.discount.unit_fen


def tag(value: str) -> bytes:
    """A short public fingerprint of an id (issuer, merchant): enough to tell ids apart offline."""
    return hashlib.sha256(value.encode()).digest()[:TAG_BYTES]


def key_id_of(public_key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(public_key.public_bytes_raw()).digest()[:KEY_ID_BYTES]


# --- building ------------------------------------------------------------------------------------


def claims_for(
    *,
    voucher_id: str,
    issuer_id: str,
    spec: VoucherTypeSpec,
    valid_from: datetime,
    valid_until: datetime,
    issued_at: datetime,
    key_id: bytes,
) -> TokenClaims:
    """The claims of a voucher's token. The window is narrowed to whole minutes (from rounded up,
    until rounded down), so a terminal is never more lenient than the server."""
    scope = spec.scope
    listed_items: tuple[str, ...] = scope.region_codes or scope.merchant_ids
    listed = scope.kind is ScopeKind.ALL or len(listed_items) <= MAX_SCOPE_ITEMS
    return TokenClaims(
        voucher_id=voucher_id,
        key_id=key_id.hex(),
        issuer_tag=tag(issuer_id),
        discount=spec.discount,
        categories=spec.categories,
        scenes=spec.scenes,
        scope_kind=scope.kind,
        scope_listed=listed,
        region_codes=scope.region_codes if listed else (),
        merchant_tags=tuple(tag(m) for m in scope.merchant_ids) if listed else (),
        valid_from=_from_minute(math.ceil(valid_from.timestamp() / 60)),
        valid_until=_from_minute(math.floor(valid_until.timestamp() / 60)),
        issued_at=_from_minute(math.floor(issued_at.timestamp() / 60)),
    )


def sign(claims: TokenClaims, private_key: Ed25519PrivateKey) -> str:
    body = pack(claims)
    signature = private_key.sign(CONTEXT + body)
    return PREFIX + base45.encode(body + signature)


def pack(claims: TokenClaims) -> bytes:
    d = claims.discount
    flags = 0
    if d.kind is DiscountKind.PERCENT:
        flags |= _Flag.PERCENT
    if Scene.OFFLINE in claims.scenes:
        flags |= _Flag.OFFLINE
    if Scene.ONLINE in claims.scenes:
        flags |= _Flag.ONLINE
    flags |= _SCOPE_CODES[claims.scope_kind] << _SCOPE_SHIFT
    if claims.scope_listed and claims.scope_kind is not ScopeKind.ALL:
        flags |= _Flag.SCOPE_LISTED
    out = bytearray([VERSION])
    out += bytes.fromhex(claims.key_id)
    out += _pack_id(claims.voucher_id)
    out += claims.issuer_tag
    out.append(flags)
    if d.kind is DiscountKind.PERCENT:
        assert d.percent_off is not None
        out.append(d.percent_off)
    out += _uvarint(d.unit_fen)
    out += _uvarint(d.min_spend_fen)
    out += _uvarint(sum(1 << CATEGORY_BITS.index(c) for c in claims.categories))
    for at in (claims.valid_from, claims.valid_until, claims.issued_at):
        out += _uvarint(int(at.timestamp()) // 60)
    if flags & _Flag.SCOPE_LISTED:
        items: tuple[bytes, ...] = (
            tuple(int(r).to_bytes(3, "big") for r in claims.region_codes)
            if claims.scope_kind is ScopeKind.REGIONS
            else claims.merchant_tags
        )
        out.append(len(items))
        for item in items:
            out += item
    return bytes(out)


# --- reading -------------------------------------------------------------------------------------


def looks_like_token(text: str) -> bool:
    return text.strip().upper().startswith(PREFIX)


def split(token: str) -> tuple[bytes, bytes]:
    """``(body, signature)`` of a token's text; raises ``INVALID_OFFLINE_TOKEN`` (format)."""
    text = token.strip()
    if len(text) > MAX_TOKEN_CHARS or not text.upper().startswith(PREFIX):
        raise QuanError(INVALID_OFFLINE_TOKEN, reason=R_FORMAT)
    try:
        raw = base45.decode(text[len(PREFIX) :])
    except base45.Base45Error:
        raise QuanError(INVALID_OFFLINE_TOKEN, reason=R_FORMAT) from None
    if len(raw) < 1 + KEY_ID_BYTES + SIGNATURE_BYTES:
        raise QuanError(INVALID_OFFLINE_TOKEN, reason=R_FORMAT)
    return raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]


def verify(token: str, keyring: Mapping[str, Ed25519PublicKey]) -> TokenClaims:
    """The claims of a genuine token; ``INVALID_OFFLINE_TOKEN`` with a ``reason`` otherwise.

    ``keyring`` maps hex key ids to public keys. The signature is checked before a single field
    is trusted; a token whose version is unknown is refused rather than guessed at.
    """
    body, signature = split(token)
    if body[0] != VERSION:
        raise QuanError(INVALID_OFFLINE_TOKEN, reason=R_VERSION)
    key_id = body[1 : 1 + KEY_ID_BYTES].hex()
    public_key = keyring.get(key_id)
    if public_key is None:
        raise QuanError(INVALID_OFFLINE_TOKEN, reason=R_UNKNOWN_KEY, key_id=key_id)
    try:
        public_key.verify(signature, CONTEXT + body)
    except InvalidSignature:
        raise QuanError(INVALID_OFFLINE_TOKEN, reason=R_SIGNATURE) from None
    try:
        return unpack(body)
    except (IndexError, ValueError):
        raise QuanError(INVALID_OFFLINE_TOKEN, reason=R_FIELDS) from None


def unpack(body: bytes) -> TokenClaims:
    """Parse a body (raises ``ValueError``/``IndexError`` on a malformed one)."""
    reader = _Reader(body)
    if reader.byte() != VERSION:
        raise ValueError("unknown token version")
    key_id = reader.take(KEY_ID_BYTES).hex()
    voucher_id = _unpack_id(reader.take(_ID_BYTES))
    issuer_tag = reader.take(TAG_BYTES)
    flags = reader.byte()
    percent = reader.byte() if flags & _Flag.PERCENT else None
    value, min_spend, mask = reader.uvarint(), reader.uvarint(), reader.uvarint()
    valid_from, valid_until, issued_at = (_from_minute(reader.uvarint()) for _ in range(3))
    scope_kind = _SCOPE_KINDS[(flags >> _SCOPE_SHIFT) & 3]
    listed = bool(flags & _Flag.SCOPE_LISTED)
    regions: tuple[str, ...] = ()
    merchants: tuple[bytes, ...] = ()
    if listed:
        count = reader.byte()
        if scope_kind is ScopeKind.REGIONS:
            regions = tuple(f"{int.from_bytes(reader.take(3), 'big'):06d}" for _ in range(count))
        else:
            merchants = tuple(reader.take(TAG_BYTES) for _ in range(count))
    reader.end()
    if mask >> len(CATEGORY_BITS):
        raise ValueError("unknown category bit")
    discount = (
        Discount(DiscountKind.PERCENT, min_spend, percent_off=percent, cap_fen=value)
        if percent is not None
        else Discount(DiscountKind.FIXED, min_spend, face_value_fen=value)
    )
    scenes = tuple(
        s
        for s, bit in ((Scene.OFFLINE, _Flag.OFFLINE), (Scene.ONLINE, _Flag.ONLINE))
        if flags & bit
    )
    return TokenClaims(
        voucher_id=voucher_id,
        key_id=key_id,
        issuer_tag=issuer_tag,
        discount=discount,
        categories=tuple(c for i, c in enumerate(CATEGORY_BITS) if mask >> i & 1),
        scenes=scenes,
        scope_kind=scope_kind,
        scope_listed=listed or scope_kind is ScopeKind.ALL,
        region_codes=regions,
        merchant_tags=merchants,
        valid_from=valid_from,
        valid_until=valid_until,
        issued_at=issued_at,
    )


# --- encoding helpers ----------------------------------------------------------------------------


def _from_minute(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def _uvarint(value: int) -> bytes:
    if value < 0:
        raise ValueError("uvarint of a negative number")
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _pack_id(voucher_id: str) -> bytes:
    symbols = voucher_id.removeprefix(_ID_PREFIX)
    if not voucher_id.startswith(_ID_PREFIX) or len(symbols) != _ID_SYMBOLS:
        raise ValueError(f"not a voucher id: {voucher_id!r}")
    n = 0
    for c in symbols:
        n = n * 32 + _ID_ALPHABET.index(c)
    return n.to_bytes(_ID_BYTES, "big")


def _unpack_id(raw: bytes) -> str:
    n = int.from_bytes(raw, "big")
    if n >> (5 * _ID_SYMBOLS):
        raise ValueError("voucher id out of range")
    symbols = [_ID_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(_ID_SYMBOLS))]
    return _ID_PREFIX + "".join(symbols)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def take(self, n: int) -> bytes:
        chunk = self._data[self._at : self._at + n]
        if len(chunk) != n:
            raise ValueError("token body too short")
        self._at += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def uvarint(self) -> int:
        value = shift = 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise ValueError("uvarint too long")

    def end(self) -> None:
        if self._at != len(self._data):
            raise ValueError("trailing bytes in token body")
