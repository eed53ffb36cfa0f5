"""The whole schema: importing this module registers every table on ``metadata``.

Each aggregate may keep its tables in a module of its own; list it here so that migrations,
tests and checks see every table.
"""

from __future__ import annotations

import quan.store.abuse_tables  # risk features, cases, holds on redemptions
import quan.store.alert_tables  # alert rules, alerts, their receivers
import quan.store.assisted_tables  # assisted acts: print rights and reprints
import quan.store.citizen_tables  # citizens, imports, sign-in codes, blacklist
import quan.store.feedback_tables  # complaints and their steps
import quan.store.log_tables  # transparency log tables
import quan.store.lottery_tables  # lottery draws and registrations
import quan.store.notify_tables  # announcements, partner clients, webhooks
import quan.store.portal_tables  # merchant owners' codes, terminal pairing, appeals
import quan.store.redemption_tables  # redemptions, reversals, offline sync, settlement
import quan.store.refusal_tables  # refused claims and redemptions, per minute
import quan.store.reminder_tables  # reminders, their sweeps, opt-outs
import quan.store.selfreg_tables  # citizens' self-registrations: consent, real-name check
import quan.store.share_tables  # share links, per-sharer counters, attribution
import quan.store.voucher_tables  # noqa: F401  (voucher types, batches, vouchers)
from quan.store import merchant_tables, tables
from quan.store.tables import metadata

__all__ = ["merchant_tables", "metadata", "tables"]
