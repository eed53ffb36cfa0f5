"""``failover``: a claim and redemption flood across several ``quan serve`` nodes while the
PostgreSQL primary is lost and its synchronous standby promoted (issue 24).

The benchmark makes its own primary and standby (:mod:`quan.bench.pg_pair`: two clusters of the
installed PostgreSQL on loopback ports, the primary waiting for the standby at every commit),
starts ``nodes`` API servers on the multi-host URL (``target_session_attrs=read-write``), and
sends ``citizens`` claims on a first-come batch of ``vouchers`` and ``redemptions`` redemptions
of handed-out vouchers, round-robin over the nodes from ``clients`` threads. Each request keeps
its Idempotency-Key and is asked again (at the next node) after a 5xx or a broken connection,
until it has a final answer (201, or 409 for a sold-out batch). After ``kill_at`` (a share of
all requests) have been acknowledged, the primary's postmaster gets SIGKILL and the standby is
promoted.

Afterwards, read from the promoted server: every acknowledged claim and redemption is there
(``lost``), nothing is there that was not acknowledged (``unacknowledged``), no citizen holds
two vouchers and no voucher has two live redemptions (``doubled``), the ledger check passes and
the transparency log verifies from outside (``ledger_violations``, ``log_failures``). The
figure is ``seconds_without_writes``: from the kill to the first acknowledged request that was
sent after it.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select

from quan.bench import claim_path, redeem_path, seed
from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult, Status
from quan.bench.databases import POSTGRES, BenchDatabase, migrate
from quan.bench.load import RequestItem
from quan.bench.pg_pair import Pair, binaries
from quan.bench.registry import Benchmark, Params
from quan.bench.server import ServerProcess, quan_serve
from quan.jobs import sequencer
from quan.services.money.ledger_check import check_ledger
from quan.services.runtime import Runtime
from quan.store.redemption_tables import redemptions
from quan.store.voucher_tables import vouchers
from quan.verify import verify_log

FINAL = (201, 409)
GIVE_UP_S = 120.0


@dataclass
class Flood:
    """Requests handed to client threads; what each got as its final answer."""

    items: list[tuple[str, RequestItem]]  # ("claim" | "redeem", request)
    bases: list[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_item: int = 0
    acks: list[tuple[float, float]] = field(default_factory=list)  # (sent, acknowledged)
    claimed: dict[str, str] = field(default_factory=dict)  # voucher id -> key
    redeemed: dict[str, str] = field(default_factory=dict)  # redemption id -> voucher id
    answers: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    unanswered: int = 0

    def take(self) -> tuple[int, str, RequestItem] | None:
        with self.lock:
            if self.next_item >= len(self.items):
                return None
            i = self.next_item
            self.next_item += 1
        kind, item = self.items[i]
        return i, kind, item

    def client(self) -> None:
        with httpx.Client(timeout=10.0) as http:
            while (taken := self.take()) is not None:
                i, kind, item = taken
                self._ask(http, i, kind, item)

    def _ask(self, http: httpx.Client, i: int, kind: str, item: RequestItem) -> None:
        deadline = time.monotonic() + GIVE_UP_S
        attempt = 0
        while time.monotonic() < deadline:
            base = self.bases[(i + attempt) % len(self.bases)]
            attempt += 1
            sent = time.monotonic()
            try:
                response = http.post(
                    base + item.path,
                    content=item.body or None,
                    headers={
                        "Authorization": f"Bearer {item.token}",
                        "Idempotency-Key": item.key,
                        "Content-Type": "application/json",
                    },
                )
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code in FINAL:
                self._record(kind, response, sent)
                return
            with self.lock:
                self.retries += 1
            time.sleep(0.05)
        with self.lock:
            self.unanswered += 1

    def _record(self, kind: str, response: httpx.Response, sent: float) -> None:
        with self.lock:
            self.answers[f"{kind}:{response.status_code}"] += 1
            if response.status_code != 201:
                return
            body = response.json()
            self.acks.append((sent, time.monotonic()))
            if kind == "claim":
                self.claimed[body["id"]] = kind
            else:
                self.redeemed[body["id"]] = body["voucher_id"]

    @property
    def acknowledged(self) -> int:
        with self.lock:
            return len(self.acks)


def _interleave(
    claims: list[RequestItem], redeems: list[RequestItem]
) -> list[tuple[str, RequestItem]]:
    out: list[tuple[str, RequestItem]] = []
    for i in range(max(len(claims), len(redeems))):
        if i < len(claims):
            out.append(("claim", claims[i]))
        if i < len(redeems):
            out.append(("redeem", redeems[i]))
    return out


def run(ctx: BenchContext, params: Params) -> BenchResult:
    if binaries() is None:
        return BenchResult(
            "failover",
            POSTGRES,
            status=Status.SKIPPED,
            reason="PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup) are not installed",
        )
    root = Path("/tmp") / f"quan-bench-pg-pair-{secrets.token_hex(4)}"  # noqa: S108
    pair = Pair(root)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        stack.callback(pair.stop)
        return _drill(ctx, params, pair, root, stack)


def _drill(
    ctx: BenchContext, params: Params, pair: Pair, root: Path, stack: ExitStack
) -> BenchResult:
    say("    creating a primary and a synchronous standby")
    pair.create()
    pair.query(pair.primary, "CREATE DATABASE quan")
    var_dir = ctx.work_dir / root.name
    var_dir.mkdir(parents=True, exist_ok=True)
    db = BenchDatabase(POSTGRES, pair.url("quan"), "quan", var_dir)
    migrate(db)
    rt = seed.runtime(db)
    say("    seeding")
    program = seed.active_program(rt)
    setup = claim_path.prepare_flood(
        rt,
        vouchers=int(params["vouchers"]),
        citizens=int(params["citizens"]),
        late=0,
        program=program,
    )
    nodes: list[ServerProcess] = []
    for n in range(int(params["nodes"])):
        env = db.server_env(QUAN_EMBEDDED_SEQUENCER="false")
        spec = quan_serve(env, 1, var_dir / f"node-{n}.log")
        nodes.append(stack.enter_context(ServerProcess(spec)))
    bases = [node.spec.base_url for node in nodes]
    spend = redeem_path.prepare(
        rt, bases[0], vouchers=int(params["redemptions"]), terminals=4, program=program
    )
    flood = Flood(_interleave(setup.requests, spend.requests), bases)
    total = len(flood.items)
    kill_after = int(total * float(params["kill_at"]))
    say(f"    flood: {total:,} requests over {len(bases)} nodes; kill after {kill_after:,}")
    clients = [threading.Thread(target=flood.client) for _ in range(int(params["clients"]))]
    started = time.monotonic()
    for thread in clients:
        thread.start()
    while flood.acknowledged < kill_after and any(t.is_alive() for t in clients):
        time.sleep(0.002)
    killed_at = time.monotonic()
    pair.kill_primary()
    pair.promote_standby()
    say("    primary killed, standby promoted")
    for thread in clients:
        thread.join()
    elapsed = time.monotonic() - started
    result = _read_back(rt, flood, setup.batch_id, spend.batch_id, bases[0], killed_at)
    result.params = dict(params)
    result.figures["requests"] = float(total)
    result.figures["flood_s"] = round(elapsed, 2)
    result.server = {"command": "quan serve --workers 1", "nodes": len(nodes)}
    result.notes.append(
        "primary killed with SIGKILL, standby promoted with pg_ctl promote; nodes connect "
        "with a libpq multi-host URL (target_session_attrs=read-write)"
    )
    rt.db.dispose()
    return result


def _read_back(
    rt: Runtime,
    flood: Flood,
    claim_batch: str,
    spend_batch: str,
    base: str,
    killed_at: float,
) -> BenchResult:
    with rt.db.read() as tx:
        present_claims = set(
            tx.execute(
                select(vouchers.c.id).where(
                    vouchers.c.batch_id == claim_batch, vouchers.c.citizen_id.is_not(None)
                )
            ).scalars()
        )
        holders_twice = tx.execute(
            select(func.count()).select_from(
                select(vouchers.c.citizen_id)
                .where(vouchers.c.batch_id == claim_batch, vouchers.c.citizen_id.is_not(None))
                .group_by(vouchers.c.citizen_id)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        present_redemptions = dict(
            tx.execute(
                select(redemptions.c.id, redemptions.c.voucher_id).where(
                    redemptions.c.batch_id == spend_batch, redemptions.c.status == "redeemed"
                )
            ).all()
        )
        report = check_ledger(tx)
    spent_twice = redeem_path.read_back(rt, spend_batch).double_spent
    claimed, redeemed = set(flood.claimed), flood.redeemed
    lost = len(claimed - present_claims) + sum(
        1 for rid, vid in redeemed.items() if present_redemptions.get(rid) != vid
    )
    unacknowledged = len(present_claims - claimed) + len(set(present_redemptions) - set(redeemed))
    sequencer.run_once(rt, holder="bench-failover", batch_size=100_000)
    try:
        with httpx.Client(base_url=base, timeout=30.0) as http:
            verify_log(http, full=True)
        log_failures = 0
    except Exception as exc:
        say(f"    log verification failed: {exc}")
        log_failures = 1
    after = [done for sent, done in flood.acks if sent > killed_at]
    without = (min(after) - killed_at) if after else float("nan")
    return BenchResult(
        benchmark="failover",
        database=POSTGRES,
        figures={
            "seconds_without_writes": round(without, 3),
            "claims_acknowledged": float(len(claimed)),
            "redemptions_acknowledged": float(len(redeemed)),
            "retries": float(flood.retries),
        },
        checks={
            "lost": lost,
            "unacknowledged": unacknowledged,
            "doubled": int(holders_twice) + int(spent_twice),
            "unanswered": flood.unanswered,
            "ledger_violations": len(report.violations),
            "log_failures": log_failures,
            "no_write_after_failover": 0 if after else 1,
        },
        runs=[{k: float(v) for k, v in flood.answers.items()}],
    )


BENCHMARK = Benchmark(
    name="failover",
    summary="claims and redemptions across nodes while the PostgreSQL primary is lost",
    run=run,
    params={
        "nodes": 3,
        "vouchers": 3000,
        "citizens": 4000,
        "redemptions": 2000,
        "clients": 24,
        "kill_at": 0.3,
    },
    quick_params={"nodes": 2, "vouchers": 300, "citizens": 400, "redemptions": 200, "clients": 8},
    http=False,
    storage_ratio=False,
    databases=(POSTGRES,),
)
