"""Redemptions committed together: the redemptions that arrive in the same few milliseconds, in
one transaction.

At a busy hour many terminals redeem at once; committing each redemption in its own transaction
makes the database pay a commit (an fsync) and a dozen round trips per redemption, and the
terminal's key is read in a transaction of its own first. Here a micro-batch pays once for the
recording lock, the terminals' keys (one read), the idempotency keys (one statement) and the
commit; on PostgreSQL the vouchers' facts are read by one statement and every redemption that
passed the rules is written by one more (:mod:`quan.services.redemption.redemption_many`). Each
request is
answered only once it is durable.

Every guarantee of :func:`quan.services.redemption.redeem.redeem` holds, from the same
mechanisms:
the voucher row is locked ``FOR UPDATE`` and the write takes it only while ``active``, so two
attempts on one voucher (in one micro-batch or in two) give one redemption; the
``Idempotency-Key`` row is written in the transaction of its effect, under the key's advisory
lock on PostgreSQL; the recording lock is taken before the clock is read (settlement's barrier).
Requests are judged in arrival order; a refusal writes nothing. A refusal's check runs before
the only write (on PostgreSQL one statement; on SQLite, where recording takes several, each
redemption runs in a savepoint), so a refused request leaves the others' work intact.

When the transaction fails as a whole (a deadlock between two micro-batches redeeming the same
vouchers in opposite order, a lost key race, the database gone), each of its requests runs
again alone through the per-request path, which is the documented route's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, insert
from sqlalchemy.exc import DBAPIError

from quan.clock import Clock
from quan.domain.auth import Actor, PartnerRole
from quan.domain.categories import check_categories
from quan.domain.errors import QuanError
from quan.domain.merchants import Scene
from quan.domain.order_details import check_details, check_order_ref
from quan.services import idempotency
from quan.services.idempotency import Held, IdempotencyKey, Outcome
from quan.services.merchants import terminals
from quan.services.redemption import redeem, redemption, redemption_many
from quan.services.redemption.redemption_many import ManyResult, Wanted
from quan.store.db import Database
from quan.store.tables import idempotency_keys

log = logging.getLogger("quan.redemption")

Render = Callable[[redemption.Redeemed], tuple[int, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class RedeemCall:
    """One terminal's request as it arrived: its key, its validated body (as JSON data, which
    the idempotency hash covers) and its ``Idempotency-Key``."""

    api_key: str
    body: Mapping[str, Any]
    path: str
    idempotency_key: str | None = None


# A request's answer: the response (new or replayed), its refusal (QuanError), the database
# failure that kept it from being judged, or ``None``: not a terminal's key, for the documented
# route to answer (401 or 403).
RedeemResult = Outcome | Exception | None


def redeem_together(
    db: Database,
    clock: Clock,
    keyring: Mapping[str, Ed25519PublicKey],
    calls: Sequence[RedeemCall],
    render: Render,
) -> list[RedeemResult]:
    """Judge and record every redemption of ``calls`` in one transaction; the answer for each,
    in order. On a failure of the whole transaction, each runs alone."""
    try:
        return _together(db, clock, keyring, calls, render)
    except DBAPIError as exc:  # (the driver's error names its kind; its text may hold values)
        kind = type(exc.orig).__name__
        log.warning("a micro-batch of %d redemptions failed (%s): each alone", len(calls), kind)
    return [redeem_alone(db, clock, keyring, call, render) for call in calls]


def redeem_alone(
    db: Database,
    clock: Clock,
    keyring: Mapping[str, Ed25519PublicKey],
    call: RedeemCall,
    render: Render,
) -> RedeemResult:
    """One request in its own transactions, as the documented route runs it."""
    actor: Actor | None = None
    try:
        with db.read() as tx:
            actor = terminals.terminal_actors(tx, [call.api_key]).get(call.api_key)
        if actor is None:
            return None
        req = _request(call)
        idem = _key(actor, call)

        def work(tx: Connection) -> redemption.Redeemed:
            redemption.begin_recording(tx)
            return redeem.redeem(tx, clock.now(), actor, keyring, req)

        return idempotency.run(db, clock, idem, work, render)
    except QuanError as exc:  # the request's answer: a refusal
        if actor is not None:
            redeem.refusal(db, clock, actor, exc)
        return exc
    except Exception as exc:  # or the failure
        return exc


@dataclass(slots=True)
class _Pending:
    index: int
    actor: Actor
    request: redemption.RedeemRequest
    idem: IdempotencyKey | None


def _together(
    db: Database,
    clock: Clock,
    keyring: Mapping[str, Ed25519PublicKey],
    calls: Sequence[RedeemCall],
    render: Render,
) -> list[RedeemResult]:
    with db.write() as tx:
        redemption.begin_recording(tx)
        actors = terminals.terminal_actors(tx, [c.api_key for c in calls])
        batch = _Batch(tx, clock, keyring, render, len(calls))
        pending: list[_Pending] = []
        for index, call in enumerate(calls):
            actor = actors.get(call.api_key)
            if actor is None:
                continue  # the documented route answers it
            try:
                pending.append(_Pending(index, actor, _request(call), _key(actor, call)))
            except QuanError as refusal:
                batch.results[index] = refusal
        batch.held = idempotency.claim_many(tx, db.dialect, [p.idem for p in pending if p.idem])
        first, later = batch.sort(pending)
        together: list[ManyResult] = [None] * len(first)
        if db.dialect == "postgresql":
            wanted = [Wanted(p.actor, p.request) for p in first]
            together = redemption_many.redeem_many(tx, batch.now, keyring, wanted)
        for p, done in zip(first, together, strict=True):
            batch.record(p, done)
        for p in later:
            if batch.replayed(p) is None:
                batch.record(p, None)
        if batch.stored:
            tx.execute(insert(idempotency_keys), batch.stored)
    for call, result in zip(calls, batch.results, strict=True):  # committed: record refusals
        refused_by = actors.get(call.api_key)
        if isinstance(result, QuanError) and refused_by is not None:
            redeem.refusal(db, clock, refused_by, result)
    return batch.results


class _Batch:
    """One micro-batch's transaction: its answers, the key rows to store, the keys it holds."""

    def __init__(
        self,
        tx: Connection,
        clock: Clock,
        keyring: Mapping[str, Ed25519PublicKey],
        render: Render,
        size: int,
    ) -> None:
        self.tx = tx
        self.clock = clock
        self.now = clock.now()  # after the recording lock: see services.redemption.redemption
        self.keyring = keyring
        self.render = render
        self.results: list[RedeemResult] = [None] * size
        self.stored: list[dict[str, Any]] = []
        self.held: dict[tuple[str, str], Held] = {}
        # SQLite records a redemption in several statements: a savepoint keeps a late refusal
        # from leaving part of it. PostgreSQL writes it in one statement, after every check.
        self.alone = tx.begin_nested if tx.dialect.name == "sqlite" else nullcontext

    def sort(self, pending: list[_Pending]) -> tuple[list[_Pending], list[_Pending]]:
        """The requests to redeem now, and those whose key an earlier request of this batch
        uses: they wait for its answer (its replay; a fresh judgement if it was refused).
        Requests whose key has a stored answer, or is held elsewhere, are answered here."""
        first: list[_Pending] = []
        later: list[_Pending] = []
        keys: set[tuple[str, str]] = set()
        for p in pending:
            if p.idem is None:
                first.append(p)
            elif (p.idem.scope, p.idem.key) in keys:
                later.append(p)
            elif self.replayed(p) is None:
                keys.add((p.idem.scope, p.idem.key))
                first.append(p)
        return first, later

    def replayed(self, p: _Pending) -> RedeemResult:
        """The answer its key already gives ``p`` (a replay, or a refusal), set as its result;
        ``None`` if ``p`` is to be judged."""
        assert p.idem is not None
        found: RedeemResult
        try:
            found = self.held[(p.idem.scope, p.idem.key)].verdict(p.idem)
        except QuanError as refusal:
            found = refusal
        self.results[p.index] = found
        return found

    def record(self, p: _Pending, done: ManyResult) -> None:
        """Answer ``p`` with its set-wise result, or redeem it alone now (``None``)."""
        try:
            if done is None:
                with self.alone():
                    done = redeem.redeem(self.tx, self.now, p.actor, self.keyring, p.request)
            if isinstance(done, QuanError):
                raise done
            status, body = self.render(done)
        except QuanError as refusal:
            self.results[p.index] = refusal
            return
        self.results[p.index] = Outcome(status, body, replayed=False)
        if p.idem is not None:
            self.stored.append(idempotency.stored_row(p.idem, status, body, self.clock))
            again = Outcome(status, body, replayed=True)
            self.held[(p.idem.scope, p.idem.key)] = Held(True, (p.idem.request_hash, again))


def _request(call: RedeemCall) -> redemption.RedeemRequest:
    """The redemption the body asks for, with the checks the route makes before it runs."""
    body = call.body
    check_categories([body["category"]])
    return redemption.RedeemRequest(
        order_amount_fen=body["order_amount_fen"],
        category=body["category"],
        scene=Scene(body["scene"]),
        voucher_code=body.get("voucher_code"),
        token=body.get("token"),
        order_ref=check_order_ref(body.get("order_ref")),
        details=check_details(body.get("metadata")),
    )


def _key(actor: Actor, call: RedeemCall) -> IdempotencyKey | None:
    assert actor.role == PartnerRole.TERMINAL
    if call.idempotency_key is None:
        return None
    return IdempotencyKey.of(actor.label, call.idempotency_key, "POST", call.path, call.body)
