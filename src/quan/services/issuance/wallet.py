"""The citizen's wallet: their vouchers with status, validity, code and what the QR shows.

The QR payload of an active voucher is a signed offline token (``QV1:…``, see
``docs/offline-tokens.md``) when the caller passes the platform's offline key: a terminal verifies
it with no network. Otherwise, and for vouchers that can no longer be spent, it is the code.
A deactivated voucher shows as ``deactivated``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from quan.domain.voucher_type_json import parse_voucher_type
from quan.domain.voucher_types import VoucherTypeSpec
from quan.services.merchants.offline_keys import OfflineKey
from quan.services.redemption.deactivation import deactivated_among
from quan.store.pagination import page
from quan.store.tables import programs
from quan.store.voucher_tables import voucher_types, vouchers


@dataclass(frozen=True, slots=True)
class WalletEntry:
    id: str
    code: str
    qr_payload: str
    status: str
    program_id: str
    batch_id: str
    voucher_type_id: str
    spec: VoucherTypeSpec
    claimed_at: datetime
    valid_from: datetime
    valid_until: datetime


def display_status(status: str, valid_until: datetime, now: datetime) -> str:
    """What the holder should be told: an active voucher past its validity is expired, even
    before the expiry job has returned its money."""
    if status == "active" and now >= valid_until:
        return "expired"
    return status


def qr_payload(code: str) -> str:
    """What the wallet encodes in the QR: the code, until signed offline tokens arrive."""
    return code


def receipt_qr(
    offline: OfflineKey,
    *,
    voucher_id: str,
    code: str,
    status: str,
    issuer_id: str,
    spec: VoucherTypeSpec,
    valid_from: datetime,
    valid_until: datetime,
    now: datetime,
) -> str:
    """What the QR of a voucher just received shows: its signed offline token while it can be
    spent, as in the wallet; otherwise its code."""
    if display_status(status, valid_until, now) != "active":
        return qr_payload(code)
    return offline.token(
        voucher_id=voucher_id,
        issuer_id=issuer_id,
        spec=spec,
        valid_from=valid_from,
        valid_until=valid_until,
        now=now,
    )


def wallet(
    tx: Connection,
    citizen_id: str,
    now: datetime,
    *,
    limit: int,
    cursor: str | None,
    offline: OfflineKey | None = None,
) -> tuple[list[WalletEntry], str | None]:
    """One page of the citizen's vouchers, oldest batch first."""
    v = vouchers.c
    query = (
        select(vouchers, voucher_types.c.definition, programs.c.issuer_id)
        .join(voucher_types, voucher_types.c.id == v.voucher_type_id)
        .join(programs, programs.c.id == v.program_id)
        .where(v.citizen_id == citizen_id)
    )
    rows, next_cursor = page(tx, query, v.id, limit=limit, cursor=cursor)
    off = deactivated_among(tx, [row.id for row in rows])
    specs: dict[str, VoucherTypeSpec] = {}
    entries = []
    for row in rows:
        spec = specs.get(row.voucher_type_id)
        if spec is None:
            spec = specs[row.voucher_type_id] = parse_voucher_type(json.loads(row.definition))
        status = display_status(row.status, row.valid_until, now)
        qr = qr_payload(row.code)
        if status == "active" and row.id in off:
            status = "deactivated"
        elif status == "active" and offline is not None:
            qr = offline.token(
                voucher_id=row.id,
                issuer_id=row.issuer_id,
                spec=spec,
                valid_from=row.valid_from,
                valid_until=row.valid_until,
                now=now,
            )
        entries.append(
            WalletEntry(
                id=row.id,
                code=row.code,
                qr_payload=qr,
                status=status,
                program_id=row.program_id,
                batch_id=row.batch_id,
                voucher_type_id=row.voucher_type_id,
                spec=spec,
                claimed_at=row.claimed_at,
                valid_from=row.valid_from,
                valid_until=row.valid_until,
            )
        )
    return entries, next_cursor
