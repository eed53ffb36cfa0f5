"""Measure a settlement run over many redemptions on PostgreSQL (not a test; run by hand).

    .venv/bin/python -m tests.scale.settle_many postgresql://postgres@127.0.0.1:5432/test 10000000

Seeds, in a schema of its own (dropped at the end), one program with ``N`` live redemptions
spread over 10,000 merchants and 100 batches — inserted set-based with foreign-key triggers off
(``session_replication_role = replica``; the rows the keys point at are not what is measured) —
then times ``services.settlement.running.settle`` for the day, and prints redemptions per second.
"""

from __future__ import annotations

import secrets
import sys
import time
from datetime import UTC, date, datetime

from sqlalchemy import text

from quan.clock import FixedClock
from quan.domain.auth import SYSTEM
from quan.services.settlement import running
from quan.store.db import Database
from quan.store.migrate import upgrade

DAY = date(2026, 11, 25)
NOON = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
MERCHANTS = 10_000
BATCHES = 100


PROGRAM_SQL = """
INSERT INTO programs (id, issuer_id, name, description, timezone, starts_at, ends_at, status,
                      created_by, created_at, updated_at)
VALUES ('prg_scale', 'iss_scale', 's', '', 'Asia/Shanghai', '2026-11-01', '2027-03-01',
        'active', 'x', now(), now())
"""
MERCHANTS_SQL = """
INSERT INTO merchants (id, issuer_id, name, uscc, region_code, accepts_offline, accepts_online,
                       bank_name, bank_account_token, bank_account_masked, contact_phone_token,
                       contact_phone_masked, status, created_at, updated_at)
SELECT 'mch_' || lpad(g::text, 26, '0'), 'iss_scale', 'm', 'u' || g, '330106', true, false,
       'b', 't', '****', 't', '***', 'approved', now(), now()
FROM generate_series(1, :n) g
"""
REDEMPTIONS_SQL = """
INSERT INTO redemptions (id, program_id, batch_id, voucher_id, merchant_id, terminal_id,
                         citizen_id, channel, category, scene, order_amount_fen, discount_fen,
                         unit_fen, min_spend_fen, max_per_order, local_day, redeemed_at,
                         recorded_at, status)
SELECT 'rdm_' || lpad(g::text, 26, '0'), 'prg_scale',
       'bat_' || lpad((g % :batches)::text, 26, '0'), 'vch_' || lpad(g::text, 26, '0'),
       'mch_' || lpad((g % :merchants + 1)::text, 26, '0'), 'trm_x', 'cit_x', 'online',
       'catering', 'offline', 12000, 3000 - (g % 3) * 500, 3000, 10000, 1, :day,
       :noon + (g % 36000) * interval '1 second', :noon + (g % 36000) * interval '1 second',
       'redeemed'
FROM generate_series(1, :n) g
"""


def seed(db: Database, count: int) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(
            text(
                "INSERT INTO issuers (id, name, region_code, created_at) "
                "VALUES ('iss_scale', '规模测试', '330100', now())"
            )
        )
        conn.execute(text(PROGRAM_SQL))
        conn.execute(text(MERCHANTS_SQL), {"n": MERCHANTS})
        started = time.perf_counter()
        params = {"n": count, "batches": BATCHES, "merchants": MERCHANTS, "day": DAY, "noon": NOON}
        conn.execute(text(REDEMPTIONS_SQL), params)
        print(f"seeded {count:,} redemptions in {time.perf_counter() - started:.1f} s")
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE redemptions"))


def main() -> None:
    url, count = sys.argv[1], int(sys.argv[2])
    schema = f"quan_scale_{secrets.token_hex(3)}"
    admin = Database(url)
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    db = Database(url, schema=schema)
    try:
        upgrade(db)
        seed(db, count)
        clock = FixedClock(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))
        started = time.perf_counter()
        run = running.settle(db, clock, SYSTEM, "prg_scale", DAY)
        took = time.perf_counter() - started
        print(
            f"settled {run.redemption_count:,} redemptions for {run.merchants:,} merchants "
            f"({run.window_fen:,} fen, {run.remainder_fen:,} fen released) in {took:.1f} s "
            f"= {run.redemption_count / took:,.0f} redemptions/s"
        )
    finally:
        db.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
