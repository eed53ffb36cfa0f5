"""An independent verifier of Quan's transparency log (``quan audit verify``).

It talks to a Quan site only through the public HTTP endpoints (``/api/v1/audit/...``) with
httpx, and uses only the pure Merkle, checkpoint and leaf rules of :mod:`quan.domain` — never the
store or the services — so an outsider can run it (or rewrite it from ``docs/transparency-log.md``)
without trusting the server's code.
"""

from __future__ import annotations

from quan.verify.errors import VerificationError
from quan.verify.verifier import DEFAULT_SAMPLES, Outcome, verify_log

__all__ = ["DEFAULT_SAMPLES", "Outcome", "VerificationError", "verify_log"]
