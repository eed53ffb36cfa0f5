"""The alert-rules benchmark: one evaluation of 50 rules over a program with 10,000,000 vouchers
(issue 17, target ≤ 2 s on PostgreSQL), as the ``alerts`` job runs it
(:func:`quan.services.operations.alerts.evaluate`, one transaction).

Seeded in bulk SQL (not timed): ``vouchers`` claimed, active vouchers of one program (the
``scale`` benchmark's filler: up to ten per citizen) claimed over the program's last ``days``
days, a ``burst`` share of them within the last hour (a busy hour: 1 % of 10M is 100,000 claims,
28 a second) and the rest evenly before it, each valid for ``days`` days from its claim (so about
7/30 of the value lapses within the built-in rule's 7 days), ``refusals`` refused
redemptions at one merchant over the last ten minutes; then the built-in rules (7 of the program,
3 of the platform) and 40 more of the program (the per-program measures again with other windows
and thresholds), 50 in all. The figure is the median of ``runs`` evaluations; each must measure
every rule (``checks.rules_not_measured`` = 0).
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from quan.bench.context import BenchContext, say
from quan.bench.contract import BenchResult
from quan.bench.databases import POSTGRES, SQLITE
from quan.bench.registry import Benchmark, Params

if TYPE_CHECKING:
    from quan.bench.seed import FundedProgram
    from quan.services.runtime import Runtime

MODULES = ("quan.services.operations.alerts",)
RULES = 50


def run_alert_rules(ctx: BenchContext, params: Params) -> BenchResult:
    from quan.bench import claim_path, scale, seed
    from quan.bench.benchmarks.jobs import _vacuum
    from quan.services.operations import alerts
    from quan.services.people.citizens import CitizenKeys

    count, refusals, runs = int(params["vouchers"]), int(params["refusals"]), int(params["runs"])
    with ctx.fresh_database() as db:
        rt = seed.runtime(db)
        try:
            program = seed.active_program(rt)
            say(f"    seeding {count:,} active vouchers and {refusals:,} refusals")
            started = time.perf_counter()
            claim_path.insert_citizens(rt, "s", min(scale.FILLER_CITIZENS, max(count, 1)))
            vt_id, _ = claim_path.open_batch(rt, program, 1)
            scale.fill(
                rt, program, vt_id, count, "a", spread=timedelta(days=int(params["days"])),
                burst=float(params["burst"]), valid=timedelta(days=int(params["days"])),
            )  # fmt: skip
            merchant_id = _refusals(rt, program, refusals)
            keys = CitizenKeys.from_settings(rt.settings).outbox
            alerts.evaluate(rt.db, rt.clock.now(), keys)  # writes the built-in rules
            _more_rules(rt, program.program_id, RULES)
            _vacuum(rt, "vouchers")
            say(f"    seeded in {time.perf_counter() - started:.0f} s")
            seconds: list[float] = []
            measured: list[int] = []
            for _ in range(runs):
                started = time.perf_counter()
                run = alerts.evaluate(rt.db, rt.clock.now(), keys)
                seconds.append(time.perf_counter() - started)
                measured.append(run.rules)
            say(f"    {RULES} rules evaluated in {statistics.median(seconds):.3f} s (median)")
            raised = len(
                [a for a in _open(rt) if a.get("merchant_id") == merchant_id]
            )  # the flood's alerts (the built-in rule and its copies)
        finally:
            rt.db.dispose()
    median = statistics.median(seconds)
    return BenchResult(
        benchmark="alert-rules",
        database=ctx.database,
        figures={
            "seconds": round(median, 3),
            "rules_per_s": round(RULES / median if median > 0 else 0.0, 1),
            "max_seconds": round(max(seconds), 3),
        },
        throughput="rules_per_s",
        checks={
            "rules_not_measured": sum(RULES - m for m in measured),
            "flood_not_raised": 0 if raised >= 1 else 1,
        },
        params=params,
        notes=[
            "quan.services.operations.alerts.evaluate in-process: seeding missing built-in rules"
            " (none after the first), then every rule measured, alerts moved and notifications"
            " queued in one write transaction",
            "vouchers bulk-inserted as in the scale benchmark, then VACUUM ANALYZE",
        ],
    )


def _refusals(rt: Runtime, program: FundedProgram, count: int) -> str:
    """``count`` out-of-scope refusals at a merchant of the program's issuer, last ten minutes."""
    from quan.domain.merchants import Scene
    from quan.domain.uscc import check_character
    from quan.refusals import TALLIES, refused
    from quan.services.merchants import merchants as merchant_service

    now = rt.clock.now()
    body = "91330106MA0001717"
    with rt.db.write() as tx:
        merchant, _ = merchant_service.apply(
            tx, now, merchant_service.pii_key(rt.settings.secret_bytes("pii_key")),
            merchant_service.NewMerchant(
                issuer_id=program.issuer_id, name="基准测试超范围商户",
                uscc=body + check_character(body),
                categories=["catering"], region_code="330106", scenes=[Scene.OFFLINE],
                bank_name="中国工商银行杭州西湖支行", account_number="6222021234567890123",
                contact_phone="13812345678",
            ),
        )  # fmt: skip
    merchant_id = merchant.id
    for i in range(count):
        at = now - timedelta(minutes=i % 10)
        refused(rt.db, at, "redeem", "OUT_OF_SCOPE", subject=f"terminal:t{i % 7}",
                merchant_id=merchant_id)  # fmt: skip
    TALLIES.flush(rt.db)
    return merchant_id


def _more_rules(rt: Runtime, program_id: str, total: int) -> None:
    """Copies of the program's built-in rules with other windows, up to ``total`` rules."""
    from quan.services.operations.alert_rules import BUILTIN, rule_key
    from quan.store.alert_tables import alert_rules
    from quan.store.ids import new_id

    now = rt.clock.now()
    with rt.db.write() as tx:
        have = len(tx.execute(select(alert_rules.c.id)).all())
        rows = []
        for i in range(total - have):
            b = BUILTIN[i % len(BUILTIN)]
            params = {**b.params, "window_minutes": 5 + i}
            name = f"{b.name}_{i}"
            rows.append(
                {
                    "id": new_id("alr"), "rule_key": rule_key(program_id, name),
                    "program_id": program_id, "name": name, "measure": b.measure,
                    "params": json.dumps(params), "comparator": b.comparator,
                    "threshold": float(b.threshold) * (1 + i % 3), "for_seconds": b.for_seconds,
                    "keep_firing_seconds": b.keep_firing_seconds,
                    "repeat_seconds": b.repeat_seconds, "severity": b.severity, "labels": "{}",
                    "annotation_zh": b.zh, "annotation_en": b.en, "enabled": True,
                    "builtin": False, "updated_by": "system:bench", "created_at": now,
                    "updated_at": now,
                }
            )  # fmt: skip
        if rows:
            tx.execute(insert(alert_rules), rows)


def _open(rt: Runtime) -> list[dict[str, str]]:
    from quan.store.alert_tables import alerts

    with rt.db.read() as tx:
        return [json.loads(r) for r in tx.execute(select(alerts.c.labels)).scalars()]


BENCHMARK = Benchmark(
    name="alert-rules",
    summary="one evaluation of 50 alert rules over a program with 10,000,000 vouchers (≤ 2 s)",
    run=run_alert_rules,
    params={"vouchers": 10_000_000, "refusals": 2_000, "runs": 5, "days": 30, "burst": 0.01},
    quick_params={"vouchers": 2_000, "refusals": 200, "runs": 2, "days": 30, "burst": 0.01},
    per_database={SQLITE: {"vouchers": 200_000}},
    requires=MODULES,
    http=False,
    storage_ratio=False,
    databases=(POSTGRES, SQLITE),
)
