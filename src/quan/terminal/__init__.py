"""The terminal library: what a cashier device runs to accept vouchers with no network.

Pure — no database, no HTTP: it verifies a signed voucher token against the platform's public keys
(fetched earlier from ``GET /api/v1/offline/keys`` and kept on the device), judges the order
against the rules the token carries, and keeps the records the device later sends to
``POST /api/v1/offline-redemptions``. The server judges every record again at sync; what it
refuses is not paid, so the checks here only spare the cashier a sale the server would refuse.

    keyring = load_keyring(open("keys.json").read())
    till = Till(profile, keyring)
    decision = till.redeem(token, amount_fen=12000, category="catering", now=clock())
    if decision.accepted: ...
    batch = till.pending()   # records to sync when the network is back
"""

from __future__ import annotations

from quan.terminal.check import Decision, TerminalProfile, judge
from quan.terminal.keys import Keyring, load_keyring
from quan.terminal.record import OfflineRecord, Till

__all__ = [
    "Decision",
    "Keyring",
    "OfflineRecord",
    "TerminalProfile",
    "Till",
    "judge",
    "load_keyring",
]
