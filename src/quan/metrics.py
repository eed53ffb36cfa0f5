"""Prometheus metrics of the running service (``GET /metrics``).

Two kinds, counted differently on purpose:

* **Events of this process** — claims, redemptions, refusals, request durations — are counters
  and a histogram of the official ``prometheus-client``. With several worker processes
  (``quan serve --workers N`` sets ``PROMETHEUS_MULTIPROC_DIR``), each process writes its values
  to files in that directory and a scrape of any worker sums them all (the library's
  multiprocess mode), so ``quan_claims_total`` is the host's total whichever worker answers.
  Several hosts are scraped separately and summed by Prometheus, as usual.
* **State of the database** — budgets, the outbox, the log's queue, the jobs — is read at scrape
  time by :class:`quan.api.metrics_route.StateCollector`, once per scrape, so it is the same
  whichever process or host answers and needs no summing.

Labels are bounded: a route *template*, a method, a status code, an error code, a channel, a
program id (programs are few) — never a citizen, voucher, merchant or terminal id.
Counted where the outcome is final: after the claim's or redemption's transaction committed,
and a replayed idempotent answer is not counted again.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import Counter, Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

CLAIMS = Counter(
    "quan_claims", "Vouchers claimed by citizens (first come), by channel.", ["channel"]
)
REDEMPTIONS = Counter("quan_redemptions", "Vouchers redeemed online (terminal or console).")
REDEEMED_FEN = Counter(
    "quan_redeemed_fen", "Subsidy value of the vouchers redeemed, in fen (1/100 yuan)."
)
REFUSALS = Counter(
    "quan_refusals",
    "Claims and redemptions refused, by action and error code.",
    ["action", "code"],
)
HTTP_DURATION = Histogram(
    "quan_http_request_duration_seconds",
    "Time from a request's arrival to its response's end, by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def claimed(channel: str) -> None:
    CLAIMS.labels(channel).inc()


def redeemed(discount_fen: int) -> None:
    REDEMPTIONS.inc()
    REDEEMED_FEN.inc(discount_fen)


def refused(action: str, code: str) -> None:
    """A claim or redemption refused (``action``: ``claim`` or ``redeem``) with ``code``."""
    REFUSALS.labels(action, code).inc()


def prepare_multiprocess_dir(path: Path) -> None:
    """Make ``path`` the multiprocess directory of the server about to start, emptied of what
    an earlier run left (its counters ended with it; Prometheus sees the restart as a reset).

    Called by ``quan serve`` before the worker processes start; they inherit the variable and
    ``prometheus_client`` reads it when first imported in each of them.
    """
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None
