"""The statements of the first-come claim path, built once: the claimant's facts (holdings,
blacklist, a replay of the same key) in one read, taking a free voucher, and whether any is left
(for :mod:`quan.services.issuance.claims` and :mod:`quan.services.issuance.claim_take`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, exists, func, literal, select, update

from quan.services.people import blacklist
from quan.store.citizen_tables import blacklist_entries, citizens
from quan.store.tables import UtcDateTime, programs
from quan.store.voucher_tables import batches, status_is, vouchers

_v, _bl = vouchers.c, blacklist_entries.c

_HELD = (
    select(func.count())
    .select_from(vouchers)
    .where(_v.batch_id == bindparam("batch_id"), _v.citizen_id == bindparam("citizen_id"))
    .scalar_subquery()
)

_BLOCKED = exists().where(
    _bl.subject_type == "citizen",
    _bl.subject_id == bindparam("citizen_id"),
    # in_force_at builds SQL comparisons, which take a bind parameter as well as a datetime.
    blacklist.in_force_at(cast(datetime, bindparam("now", type_=UtcDateTime()))),
)


_REPLAY = (
    select(_v.id)
    .where(_v.citizen_id == bindparam("citizen_id"), _v.claim_key == bindparam("claim_key"))
    .scalar_subquery()
)


def _claimant_statement(replay: Any) -> Any:
    return (
        select(
            batches.c.status.label("batch_status"),
            programs.c.status.label("program_status"),
            citizens.c.birth_date,
            citizens.c.region_code,
            citizens.c.income_group,
            citizens.c.disabled,
            citizens.c.disability_grade,
            _HELD.label("held"),
            _BLOCKED.label("blocked"),
            replay.label("replay_id"),
        )
        .select_from(
            batches.join(programs, programs.c.id == batches.c.program_id).join(
                citizens, citizens.c.id == bindparam("citizen_id")
            )
        )
        .where(batches.c.id == bindparam("batch_id"))
    )


# What a claim judges, in one round trip: the batch's and program's status, the citizen's
# attributes, how many vouchers of the batch they hold, whether a blacklist entry bars them,
# and (with a key) the voucher an earlier request with the same key claimed.
# Params: batch_id, citizen_id, now (and claim_key).
CLAIMANT = _claimant_statement(literal(None))


CLAIMANT_WITH_KEY = _claimant_statement(_REPLAY)


# The claim itself. Params: w_batch_id, w_pool (an UPDATE reserves the columns' own names),
# c_citizen_id, c_claim_seq, c_claim_key, c_channel, c_now, c_valid_from, c_valid_until.
# Returns the claimed voucher, or no row.
TAKE = (
    update(vouchers)
    .where(
        _v.id
        == select(_v.id)
        .where(
            _v.batch_id == bindparam("w_batch_id"),
            _v.pool == bindparam("w_pool"),
            status_is("unclaimed"),
        )
        .order_by(_v.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery(),
        status_is("unclaimed"),
    )
    .values(
        status="active",
        citizen_id=bindparam("c_citizen_id"),
        claim_seq=bindparam("c_claim_seq"),
        claim_key=bindparam("c_claim_key"),
        channel=bindparam("c_channel"),
        claimed_at=bindparam("c_now"),
        valid_from=bindparam("c_valid_from"),
        valid_until=bindparam("c_valid_until"),
        status_changed_at=bindparam("c_now"),
    )
    .returning(*vouchers.c)
)


# A row while the pool has any unclaimed voucher, locked by a claim in flight or not.
# Params: w_batch_id, w_pool.
ANY_LEFT = (
    select(_v.id)
    .where(
        _v.batch_id == bindparam("w_batch_id"),
        _v.pool == bindparam("w_pool"),
        status_is("unclaimed"),
    )
    .limit(1)
)
