"""Every console page, who opens it, and how its ids are found in the served demo.

The accessibility sweep (:mod:`tests.e2e.test_accessibility`) visits each entry of
:data:`PAGES` as each of its roles, in zh-CN and in English; ``tests/unit/test_console_pages.py``
fails when the console has an HTML page (a ``GET`` route) that is neither here nor in
:data:`NOT_PAGES`. **A new page joins by adding one line to PAGES**: its route path, with
``{placeholders}`` filled from :func:`resolve` (add a query there when it needs a new kind of
id; ``fill`` maps a placeholder to another resolved id), and the roles that open it
(``public`` means without signing in).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from quan.config import load_settings
from quan.store.citizen_tables import citizens
from quan.store.feedback_tables import complaints
from quan.store.merchant_tables import merchants
from quan.store.notify_tables import announcements
from quan.store.redemption_tables import settlement_statements
from quan.store.tables import programs, staff_users
from quan.store.voucher_tables import batches, voucher_types
from tests.e2e.world import SWEEP_BATCH, SWEEP_NOTICE, SWEEP_TYPE

ROLES = ("public", "admin", "operator", "auditor", "agent", "cashier", "citizen", "merchant")
READERS = ("operator", "auditor")  # the staff pages' two views: with buttons, and read-only


@dataclass(frozen=True, slots=True)
class Page:
    path: str  # the route's path; {placeholders} are filled by resolve()
    roles: tuple[str, ...]
    status: int = 200  # what the page answers that role (an error page is a page too)
    fill: tuple[tuple[str, str], ...] = ()  # (placeholder, resolved id) where names differ
    query: str = ""  # e.g. "?code={pair_code}", filled like the path

    def url(self, ids: dict[str, str]) -> str:
        address = self.path + self.query
        return address.format(**{**ids, **{name: ids[key] for name, key in self.fill}})


PAGES: tuple[Page, ...] = (
    # Anyone
    Page("/", ("public",)),
    Page("/signin", ("public",)),
    Page("/cashier/signin", ("public",)),
    Page("/wallet/signin", ("public",)),
    Page("/wallet/register", ("public",)),
    Page("/merchant/apply", ("public",)),
    Page("/merchant/signin", ("public",)),
    Page("/disclosure", ("public",)),
    Page("/disclosure/{program_id}", ("public",)),
    # Staff: operators, auditors, admins
    Page("/ops", ("admin", *READERS)),
    Page("/ops/programs/{program_id}", ("admin", *READERS)),
    Page("/ops/programs/{program_id}/voucher-types/new", ("operator",)),
    Page("/ops/programs/{program_id}/batches/new", ("operator",)),
    Page("/ops/programs/{program_id}/dashboard", READERS),
    Page("/ops/programs/{program_id}/settlements", READERS),
    Page("/ops/programs/{program_id}/cases", READERS),
    Page("/ops/programs/{program_id}/reminders", READERS),
    Page("/ops/programs/new", ("operator",)),
    Page("/ops/programs/{program_id}/edit", ("operator",), status=409),  # active: not editable
    Page("/ops/programs/{program_id}/confirm/{action}", ("operator",)),
    # The reversible one too (the demo program is active)
    Page("/ops/programs/{program_id}/confirm/{action}", ("operator",), fill=(("action", "pause"),)),
    Page("/ops/programs/{program_id}/money", READERS),
    Page("/ops/programs/{program_id}/announcements", READERS),
    Page("/ops/announcements", READERS),
    Page("/ops/announcements/{announcement_id}", READERS),
    # Drafts, and closing a batch to release its money
    Page("/ops/voucher-types/{voucher_type_id}/edit", ("operator",)),
    Page("/ops/voucher-types/{voucher_type_id}/delete", ("operator",)),
    Page("/ops/batches/{batch_id}/edit", ("operator",), fill=(("batch_id", "draft_batch_id"),)),
    Page("/ops/batches/{batch_id}/delete", ("operator",), fill=(("batch_id", "draft_batch_id"),)),
    Page("/ops/batches/{batch_id}/release", ("operator",), fill=(("batch_id", "open_batch_id"),)),
    Page("/ops/approvals", READERS),
    Page("/ops/funders", READERS),
    Page("/ops/partners", ("admin",)),
    Page("/ops/staff/{user_id}/password", ("admin",)),
    Page("/ops/settlements/{settlement_id}", READERS),
    Page("/ops/settlements/{settlement_id}/statements/{merchant_id}", READERS),
    Page("/ops/batches/{batch_id}/lottery", READERS, fill=(("batch_id", "lottery_id"),)),
    Page("/ops/merchants", READERS),
    Page("/ops/merchants/{merchant_id}", READERS),
    Page("/ops/jobs", READERS),
    Page("/ops/operations", READERS),
    Page("/ops/programs/{program_id}/operations", READERS),
    Page("/ops/staff", ("admin",)),
    Page("/ops/staff", ("operator",), status=403),  # the page a wrong role sees
    Page("/ops/citizens", ("operator",)),
    Page("/ops/citizens/{citizen_id}", ("operator",)),
    Page("/ops/complaints", ("admin", *READERS)),
    Page("/ops/complaints/{complaint_id}", READERS),
    Page("/auditor", ("admin", "auditor")),
    Page("/auditor/entries", ("auditor",)),
    # The agent's desk
    Page("/desk", ("agent",)),
    # A merchant's cashier (a terminal)
    Page("/cashier", ("cashier",)),
    Page("/cashier/statements", ("cashier",)),
    Page("/cashier/shift", ("cashier",)),
    Page(
        "/cashier/statements/{settlement_id}",
        ("cashier",),
        fill=(("settlement_id", "cashier_settlement_id"),),
    ),
    # A merchant's owner (the demo shop whose terminal the cashier uses), and a counter device
    # opening the pairing QR code the owner asked for
    Page("/merchant", ("merchant",)),
    Page("/merchant/redemptions", ("merchant",)),
    Page("/merchant/statements", ("merchant",)),
    Page(
        "/merchant/statements/{settlement_id}",
        ("merchant",),
        fill=(("settlement_id", "cashier_settlement_id"),),
    ),
    Page("/merchant/terminals", ("merchant",)),
    Page("/merchant/complaints", ("merchant",)),
    Page("/cashier/pair", ("merchant",), query="?code={pair_code}"),
    # A resident (the sweep claims a voucher first when the resident has none)
    Page("/wallet", ("citizen",)),
    Page("/wallet/vouchers/{voucher_id}", ("citizen",)),
    Page("/wallet/registered", ("citizen",)),
    Page("/wallet/programs/{program_id}", ("citizen",)),
    Page("/wallet/history", ("citizen",)),
    Page("/wallet/complaints", ("citizen",)),
    Page("/wallet/complaints/{complaint_id}", ("citizen",)),  # the demo resident's complaint
)

# GET routes that are not pages: downloads and a printed PDF, and the preference switch.
NOT_PAGES = frozenset(
    {
        "/prefs",
        "/auditor/export/checkpoint.txt",
        "/auditor/export/log-entries.jsonl",
        "/auditor/export/budgets.csv",
        "/ops/settlements/{settlement_id}/statements.csv",
        "/ops/settlements/{settlement_id}/statements/{merchant_id}/download.csv",
        "/ops/settlements/{settlement_id}/payout-file.csv",
        "/cashier/statements/{settlement_id}/download.csv",
        "/desk/vouchers/{voucher_id}/print",  # a PDF
        "/ops/programs/{program_id}/report.csv",
        "/ops/programs/{program_id}/report.xlsx",
        "/merchant/statements/{settlement_id}/download.csv",
        "/ops/operations/live",  # the live part of /ops/operations, fetched by htmx
    }
)

# Pages not swept yet, and why (each is a gap to close: give the demo what the page needs).
NOT_SWEPT = frozenset(
    {
        # The demo has no alert; tests/e2e/test_operations_page.py acknowledges one in a browser.
        "/ops/alerts/{alert_id}/ack",
        # The demo has no abuse case: tests/e2e/test_abuse_pages.py opens one and runs axe on it.
        "/ops/cases/{case_id}",
        # The demo's terminal has redeemed nothing when the sweep runs: tests/e2e/test_counter.py
        # checks this page with axe-core once its cashier has redeemed (zh-CN and English).
        "/cashier/redemptions/{redemption_id}",
    }
)

# The demo's first shop's contact phone (quan.services.demo.shops): its owner signs in to the
# portal. The demo's phones are 137/138 0571 xxxx, apart from the tests' own.
OWNER_PHONE = "13805710001"


def resolve(var_dir: Path, credentials: dict[str, Any]) -> dict[str, str]:
    """The ids the page paths name, read from the served demo's database."""
    settings = load_settings(var_dir=var_dir, env="development")
    engine = create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as tx:
            program_id = tx.execute(select(programs.c.id).order_by(programs.c.id)).scalars().first()
            lottery_id = (
                tx.execute(
                    select(batches.c.id)
                    .where(batches.c.allocation == "lottery", batches.c.program_id == program_id)
                    .order_by(batches.c.id)
                )
                .scalars()
                .first()
            )
            settled = tx.execute(
                select(
                    settlement_statements.c.settlement_id, settlement_statements.c.merchant_id
                ).order_by(
                    settlement_statements.c.settlement_id, settlement_statements.c.merchant_id
                )
            ).first()
            user_id = tx.execute(
                select(staff_users.c.id).where(staff_users.c.username == "demo-operator")
            ).scalar_one()
            citizen_id = tx.execute(select(citizens.c.id).order_by(citizens.c.id)).scalar()
            complaint_id = (
                tx.execute(
                    select(complaints.c.id)
                    .where(complaints.c.channel == "wallet")
                    .order_by(complaints.c.id)
                )
                .scalars()
                .first()
            )
            shop = credentials["terminal"]["merchant"]
            cashier_settlement = (
                tx.execute(
                    select(settlement_statements.c.settlement_id)
                    .join(merchants, merchants.c.id == settlement_statements.c.merchant_id)
                    .where(merchants.c.name == shop)
                )
                .scalars()
                .first()
            )
            draft_type = tx.execute(
                select(voucher_types.c.id).where(voucher_types.c.name == SWEEP_TYPE)
            ).scalar_one()
            draft_batch = tx.execute(
                select(batches.c.id).where(batches.c.name == SWEEP_BATCH)
            ).scalar_one()
            open_batch = (
                tx.execute(
                    select(batches.c.id)
                    .where(
                        batches.c.allocation == "fcfs",
                        batches.c.status == "open",
                        batches.c.program_id == program_id,
                    )
                    .order_by(batches.c.id)
                )
                .scalars()
                .first()
            )
            notice = tx.execute(
                select(announcements.c.id).where(announcements.c.title_zh == SWEEP_NOTICE)
            ).scalar_one()
    finally:
        engine.dispose()
    found = (
        program_id, lottery_id, settled, cashier_settlement, citizen_id, open_batch, complaint_id
    )  # fmt: skip
    assert None not in found, f"the demo has changed: {found}"
    return {
        "program_id": str(program_id),
        "lottery_id": str(lottery_id),
        "settlement_id": str(settled.settlement_id),
        "merchant_id": str(settled.merchant_id),
        "cashier_settlement_id": str(cashier_settlement),
        "user_id": str(user_id),
        "citizen_id": str(citizen_id),
        "complaint_id": str(complaint_id),
        "action": "close",  # the confirmation page of the irreversible action
        "pause": "pause",  # and of a reversible one (the demo program is active)
        "voucher_type_id": str(draft_type),
        "draft_batch_id": str(draft_batch),
        "open_batch_id": str(open_batch),
        "announcement_id": str(notice),
    }
