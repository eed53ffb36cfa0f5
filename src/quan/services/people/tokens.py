"""Bearer tokens: a signed, expiring statement of who the holder is.

Signed (HMAC-SHA256) rather than stored so that any API process can check a token without a
database read; the staff account is still read on each staff request, so disabling an account or
changing its role takes effect at once. A staff token also carries the account's token version
(``v``): disabling the account, revoking its sessions or signing out raises the version, so every
token issued before is refused at once and re-enabling the account revives none of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject_kind: str  # "staff" | "citizen" ...
    subject_id: str
    expires_at: datetime
    version: int = 0  # the account's token version when issued (tokens without one: 0)


class TokenSigner:
    PREFIX = "qt1"

    def __init__(self, key: bytes, ttl_seconds: int) -> None:
        # Derive a key for this purpose only, so the same secret can safely serve others.
        self._key = hmac.new(key, b"quan bearer tokens v1", hashlib.sha256).digest()
        self.ttl = timedelta(seconds=ttl_seconds)

    def issue(
        self, subject_kind: str, subject_id: str, now: datetime, *, version: int = 0
    ) -> tuple[str, datetime]:
        expires = now + self.ttl
        claims: dict[str, object] = {
            "k": subject_kind,
            "s": subject_id,
            "e": int(expires.timestamp()),
        }
        if version:
            claims["v"] = version
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signed = f"{self.PREFIX}.{body}"
        return f"{signed}.{self._sign(signed)}", expires

    def verify(self, token: str, now: datetime) -> TokenClaims | None:
        """The claims of a genuine, unexpired token; ``None`` for anything else."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != self.PREFIX or not token.isascii():
            return None  # compare_digest refuses non-ASCII text: such a token is simply wrong
        signed = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(signed), parts[2]):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
            expires = datetime.fromtimestamp(int(claims["e"]), tz=now.tzinfo)
            kind, subject = str(claims["k"]), str(claims["s"])
            version = int(claims.get("v", 0))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if expires <= now:
            return None
        return TokenClaims(kind, subject, expires, version)

    def _sign(self, signed: str) -> str:
        return _b64(hmac.new(self._key, signed.encode(), hashlib.sha256).digest())
