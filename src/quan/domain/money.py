"""Money is an int of fen. These helpers format and bound it; nothing here takes a float."""

from __future__ import annotations

# The largest single amount the platform accepts: ¥10,000,000,000.00. Far beyond any real
# program, far inside a signed 64-bit column even after summing millions of postings.
MAX_AMOUNT_FEN = 1_000_000_000_000


def format_yuan(fen: int) -> str:
    """``12345`` → ``'¥123.45'``; negative amounts keep their sign in front of the symbol."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError("money is an int of fen")
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"
