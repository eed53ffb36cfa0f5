"""The platform's offline-token signing key, and the tokens the wallet shows as QR codes.

The Ed25519 seed is derived with HKDF-SHA256 from ``Settings.secret_key`` (purpose label
``quan/offline-token/ed25519/v1``), not from ``pii_key``: ``secret_key`` is the secret that signs
bearer credentials, and an offline token is one. Rotating it signs everyone out and, with the same
step, retires every printed token (its key id changes; wallets show fresh tokens at once and
terminals fetch the new key from ``GET /api/v1/offline/keys``). ``pii_key`` cannot be rotated
without re-encrypting every stored identity, so tying token keys to it would make them
unrotatable in practice. Derivation, not a new secret, keeps the zero-configuration embedded mode.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from quan.config import Settings
from quan.domain import offline_token
from quan.domain.voucher_types import VoucherTypeSpec

PURPOSE = b"quan/offline-token/ed25519/v1"


@dataclass(frozen=True)
class OfflineKey:
    private_key: Ed25519PrivateKey
    key_id: bytes

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def keyring(self) -> dict[str, Ed25519PublicKey]:
        """The keys tokens are accepted under (one today; add the previous key when rotating)."""
        return {self.key_id.hex(): self.public_key}

    def document(self) -> dict[str, Any]:
        """What ``GET /api/v1/offline/keys`` publishes and terminals keep."""
        raw = base64.b64encode(self.public_key.public_bytes_raw()).decode("ascii")
        return {
            "keys": [{"key_id": self.key_id.hex(), "algorithm": "Ed25519", "public_key": raw}],
            "token_prefix": offline_token.PREFIX,
            "format": "docs/offline-tokens.md",
        }

    def token(
        self,
        *,
        voucher_id: str,
        issuer_id: str,
        spec: VoucherTypeSpec,
        valid_from: datetime,
        valid_until: datetime,
        now: datetime,
    ) -> str:
        claims = offline_token.claims_for(
            voucher_id=voucher_id,
            issuer_id=issuer_id,
            spec=spec,
            valid_from=valid_from,
            valid_until=valid_until,
            issued_at=now,
            key_id=self.key_id,
        )
        return offline_token.sign(claims, self.private_key)


@functools.lru_cache(maxsize=4)
def _derive(secret: bytes) -> OfflineKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret)
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    return OfflineKey(private_key, offline_token.key_id_of(private_key.public_key()))


def offline_key(settings: Settings) -> OfflineKey:
    """The signing key (derived once per process and secret, then cached)."""
    return _derive(settings.secret_bytes("secret_key"))
