"""The log sequencer job: append queued events to the transparency log, one sequencer at a time.

A run takes the ``log-sequencer`` database lease, then appends batches (one transaction and one
signed checkpoint each, see :func:`quan.services.transparency.transparency.sequence_batch`) until
the queue is
empty, renewing the lease between batches and stopping if it is lost. The lease keeps workers from
wasting effort; the log's primary keys are what make a second writer fail rather than fork.

Where it runs: ``quan worker`` (the ``log-sequencer`` job, :mod:`quan.jobs.registry`), ``quan
log sequence`` (once, or ``--follow``), and in-process in development (``quan serve`` on the
embedded default, unless ``QUAN_EMBEDDED_SEQUENCER=false`` as ``make run`` sets it) through
:func:`embedded_lifespan`.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from logging import WARNING
from typing import Any

from sqlalchemy.exc import IntegrityError

from quan.jobs import lease
from quan.services.operations import log_keys
from quan.services.runtime import Runtime
from quan.services.transparency import transparency
from quan.store import log as log_store
from quan.store.db import log_failure
from quan.store.log import QueuedEvent

log = logging.getLogger("quan.jobs.sequencer")

LEASE_NAME = "log-sequencer"
# Short, so that a killed sequencer stalls the log for seconds, not a minute; a live one renews
# it between batches, between polls, and from a heartbeat while a long batch runs.
LEASE_TTL = timedelta(seconds=5)
HEARTBEAT_SECONDS = LEASE_TTL.total_seconds() / 3
POLL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one run did: ``ran`` is False when another holder had the lease (or won a race)."""

    ran: bool
    appended: int = 0
    tree_size: int | None = None
    root_hash: bytes | None = None


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for one batch.

    A batch allocates about ten objects per event, none of them in a reference cycle, so
    reference counting frees them all; but their sheer number keeps triggering full collections
    that walk the whole heap, which costs a third of the sequencing time. Collection resumes (and
    catches up) as soon as the batch is done.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def new_holder() -> str:
    """A lease holder name that tells operators which process holds it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_once(
    rt: Runtime,
    *,
    holder: str,
    batch_size: int = transparency.DEFAULT_BATCH,
    keep_lease: bool = False,
    on_batch: Callable[[transparency.SequencedBatch], None] | None = None,
) -> RunResult:
    """Sequence until the queue is empty, if this holder gets the lease."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not lease.acquire(rt.db, LEASE_NAME, holder, rt.clock.now(), LEASE_TTL):
        return RunResult(ran=False)
    try:
        with rt.db.write() as tx:  # the configured key, checked against (or starting) the history
            key = log_keys.signing_key(tx, rt.clock.now(), rt.settings)
    except Exception:
        # A retired or unknown key signs nothing; the next run (after a restart) takes over.
        lease.release(rt.db, LEASE_NAME, holder, rt.clock.now())
        raise
    with _heartbeat(rt, holder) as lost:
        return _sequence(rt, holder, batch_size, keep_lease, on_batch, lost, key)


@contextmanager
def _heartbeat(rt: Runtime, holder: str) -> Iterator[threading.Event]:
    """Renew the lease every :data:`HEARTBEAT_SECONDS` while the block runs; the event is set
    when the lease was lost (another holder took it after it expired)."""
    stop, lost = threading.Event(), threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                if not lease.acquire(rt.db, LEASE_NAME, holder, rt.clock.now(), LEASE_TTL):
                    lost.set()
                    return
            except Exception:
                log_failure(log, "could not renew the sequencer lease", level=logging.WARNING)

    thread = threading.Thread(target=beat, name="quan-log-lease", daemon=True)
    thread.start()
    try:
        yield lost
    finally:
        stop.set()
        thread.join()


def _sequence(
    rt: Runtime,
    holder: str,
    batch_size: int,
    keep_lease: bool,
    on_batch: Callable[[transparency.SequencedBatch], None] | None,
    lost: threading.Event,
    key: transparency.LogKey,
) -> RunResult:
    pseudonymize = transparency.pseudonymizer(rt.settings)
    appended = 0
    batch: transparency.SequencedBatch | None = None
    # PostgreSQL: while a batch is hashed and written, the next one is read on another connection
    # (the database works on one core while Python hashes on the other).
    prefetcher = (
        ThreadPoolExecutor(1, thread_name_prefix="quan-log-prefetch")
        if rt.db.dialect == "postgresql"
        else None
    )
    pending: Future[list[QueuedEvent]] | None = None

    def prefetch(after: int) -> None:
        nonlocal pending
        if prefetcher is not None:
            pending = prefetcher.submit(_read_queue, rt, batch_size, after)

    try:
        while True:
            prefetched, pending = _result(pending), None
            try:
                with _cycle_collector_paused(), rt.db.write() as tx:
                    batch = transparency.sequence_batch(
                        tx,
                        rt.clock.now(),
                        key,
                        pseudonymize,
                        limit=batch_size,
                        after=(batch.last_event_id or 0) if batch is not None else 0,
                        prefetched=prefetched,
                        on_full=prefetch,
                    )
            except IntegrityError:
                # Someone appended the same positions first (a lease that expired under us).
                log.warning("another sequencer appended first; this run stops")
                return RunResult(ran=False, appended=appended)
            appended += batch.appended
            if on_batch is not None:
                on_batch(batch)
            if batch.appended < batch_size:
                break
            if lost.is_set() or not lease.acquire(
                rt.db, LEASE_NAME, holder, rt.clock.now(), LEASE_TTL
            ):
                log.warning("lost the sequencer lease; stopping after %s events", appended)
                break
    finally:
        if prefetcher is not None:
            prefetcher.shutdown(wait=True, cancel_futures=True)
        if not keep_lease:
            lease.release(rt.db, LEASE_NAME, holder, rt.clock.now())
    return RunResult(
        ran=True, appended=appended, tree_size=batch.tree_size, root_hash=batch.root_hash
    )


def _read_queue(rt: Runtime, limit: int, after: int) -> list[QueuedEvent]:
    """The next batch's events, read from committed rows while the current batch is written.

    Events are append-only and only this (lease-holding) sequencer takes queue rows, so what this
    reads is what the next batch would read, except for events committing meanwhile; those are
    taken by a later batch, as a late commit always is.
    """
    with rt.db.read() as tx:
        return log_store.queued_events(tx, limit, after=after)


def _result(pending: Future[list[QueuedEvent]] | None) -> list[QueuedEvent] | None:
    if pending is None:
        return None
    try:
        return pending.result()
    except Exception:
        # Only an optimisation: the batch reads the queue itself.
        log_failure(
            log, "reading the next batch ahead failed; reading it in the batch", level=WARNING
        )
        return None


def run_forever(
    rt: Runtime,
    stop: threading.Event,
    *,
    holder: str | None = None,
    batch_size: int = transparency.DEFAULT_BATCH,
    interval: float = POLL_SECONDS,
) -> None:
    """Keep sequencing until ``stop`` is set; a failing run is logged and retried, never fatal."""
    holder = holder or new_holder()
    try:
        while not stop.is_set():
            try:
                run_once(rt, holder=holder, batch_size=batch_size, keep_lease=True)
            except Exception:
                log_failure(log, "log sequencer run failed; retrying in %.0f s", interval)
            stop.wait(interval)
    finally:
        try:
            lease.release(rt.db, LEASE_NAME, holder, rt.clock.now())
        except Exception:
            log_failure(log, "could not release the sequencer lease; it expires by itself")


@asynccontextmanager
async def embedded_lifespan(app: Any) -> AsyncIterator[None]:
    """Run the sequencer in a background thread of the API process, in development only.

    Production runs ``quan log sequence --follow`` (or a worker) instead, so that API processes
    stay stateless; the lease would keep several of them safe, but not busy for nothing.
    """
    runtime: Runtime | None = getattr(app.state, "runtime", None)
    if (
        runtime is None
        or runtime.settings.env != "development"
        or not runtime.settings.embedded_sequencer  # a worker runs it (make run)
    ):
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(runtime, stop), name="quan-log-sequencer", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
