"""Why a verification failed: one exception, a stable ``reason`` and a message for people.

Reasons::

    VerificationError
      bad_signature        the checkpoint does not verify under the pinned key
      key_changed          the log now presents another key than the one pinned
      entries_mismatch     the entries do not hash to the signed root (an entry was rewritten,
                           removed or inserted)
      log_shrank           the signed size is below the last verified size
      fork                 same or larger size, but not an extension of the last verified tree
      inclusion_failed     an inclusion proof does not lead to the signed root
      malformed_entry      an entry is not canonical JSON, or carries personal data in clear
      bad_response         the server answered something that is not the protocol
      unreachable          the server could not be reached
      state_invalid        the state file cannot be read
"""

from __future__ import annotations

from typing import Final

BAD_SIGNATURE: Final = "bad_signature"
KEY_CHANGED: Final = "key_changed"
ENTRIES_MISMATCH: Final = "entries_mismatch"
LOG_SHRANK: Final = "log_shrank"
FORK: Final = "fork"
INCLUSION_FAILED: Final = "inclusion_failed"
MALFORMED_ENTRY: Final = "malformed_entry"
BAD_RESPONSE: Final = "bad_response"
UNREACHABLE: Final = "unreachable"
STATE_INVALID: Final = "state_invalid"


class VerificationError(Exception):
    """The log failed verification (or could not be verified); ``reason`` says which way."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"
