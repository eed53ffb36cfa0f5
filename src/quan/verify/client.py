"""The log's public HTTP endpoints as the verifier sees them: plain httpx, no Quan internals.

Any answer that is not the protocol (an error status, a body of the wrong shape, bad base64) is a
:class:`VerificationError` with reason ``bad_response``; a transport failure is ``unreachable``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import httpx

from quan.verify.errors import BAD_RESPONSE, UNREACHABLE, VerificationError

API_PREFIX = "/api/v1"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    key_name: str
    origin: str
    public_key: bytes
    verifier_key: str


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise VerificationError(BAD_RESPONSE, f"{what} is not a base64 string")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise VerificationError(BAD_RESPONSE, f"{what} is not valid base64") from exc


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise VerificationError(BAD_RESPONSE, f"{what} is not an integer")
    return value


class LogClient:
    """Reads the transparency log through ``http`` (an httpx client whose base URL is the site)."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def _get(self, path: str, **params: int) -> httpx.Response:
        url = f"{API_PREFIX}/audit{path}"
        try:
            response = self._http.get(url, params=params)
        except httpx.HTTPError as exc:
            raise VerificationError(UNREACHABLE, f"GET {url} failed: {exc}") from exc
        if response.status_code != 200:
            code = ""
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                try:
                    body = response.json()
                    code = f" {body.get('code')}: {body.get('detail')}"
                except (ValueError, AttributeError):
                    code = " (unreadable problem body)"
            raise VerificationError(
                BAD_RESPONSE, f"GET {url} {params or ''} answered {response.status_code}{code}"
            )
        return response

    def _json(self, path: str, **params: int) -> Any:
        response = self._get(path, **params)
        try:
            return response.json()
        except ValueError as exc:
            raise VerificationError(BAD_RESPONSE, f"{path} did not answer JSON") from exc

    def public_key(self) -> KeyInfo:
        body = self._json("/public-key")
        if not isinstance(body, dict):
            raise VerificationError(BAD_RESPONSE, "/public-key did not answer an object")
        fields = ("key_name", "origin", "verifier_key")
        if not all(isinstance(body.get(f), str) for f in fields):
            raise VerificationError(BAD_RESPONSE, "/public-key lacks key_name/origin/verifier_key")
        return KeyInfo(
            key_name=body["key_name"],
            origin=body["origin"],
            public_key=_b64(body.get("public_key"), "public_key"),
            verifier_key=body["verifier_key"],
        )

    def key_history(self) -> list[tuple[str, str | None]]:
        """Every key of the log, oldest first: (verifier key, endorsement or None)."""
        body = self._json("/keys")
        if not isinstance(body, list) or not body:
            raise VerificationError(BAD_RESPONSE, "/keys did not answer a non-empty list")
        out: list[tuple[str, str | None]] = []
        for item in body:
            key = item.get("verifier_key") if isinstance(item, dict) else None
            endorsement = item.get("endorsement") if isinstance(item, dict) else None
            if not isinstance(key, str) or not isinstance(endorsement, str | None):
                raise VerificationError(BAD_RESPONSE, "/keys answered an item of the wrong shape")
            out.append((key, endorsement))
        return out

    def checkpoint(self) -> str:
        return self._get("/checkpoint").text

    def entries(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """Entries from ``start`` to at most ``end`` (inclusive); the server may answer fewer."""
        body = self._json("/entries", start=start, end=end)
        if not isinstance(body, list):
            raise VerificationError(BAD_RESPONSE, "/entries did not answer a list")
        out = []
        for item in body:
            if not isinstance(item, dict):
                raise VerificationError(BAD_RESPONSE, "/entries answered a non-object item")
            index = _int(item.get("index"), "entry index")
            out.append((index, _b64(item.get("data"), f"entry {index} data")))
        return out

    def _hashes(self, body: Any, path: str) -> list[bytes]:
        if not isinstance(body, dict) or not isinstance(body.get("hashes"), list):
            raise VerificationError(BAD_RESPONSE, f"{path} did not answer {{hashes: [...]}}")
        return [_b64(h, f"{path} hash") for h in body["hashes"]]

    def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        body = self._json("/proofs/inclusion", index=index, tree_size=tree_size)
        return self._hashes(body, "/proofs/inclusion")

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        body = self._json("/proofs/consistency", first=first, second=second)
        return self._hashes(body, "/proofs/consistency")
