"""Data the benchmarks start from, made through the real services in-process (not over HTTP:
seeding is not what is measured), and bearer tokens minted with the server's own secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from quan.bench.databases import BenchDatabase
from quan.domain.auth import SYSTEM, Actor, Role
from quan.domain.funding import Direction, FunderKind
from quan.domain.programs import Action
from quan.services.money import funding, issuers, programs
from quan.services.money.ledger_check import check_ledger
from quan.services.people import staff
from quan.services.runtime import Runtime
from quan.store.tables import fund_movements

PASSWORD = "benchmark password not for use"  # noqa: S105 - a throwaway account in a throwaway database


@dataclass(frozen=True, slots=True)
class FundedProgram:
    issuer_id: str
    operator: Actor
    operator_token: str
    program_id: str
    funder_id: str


def runtime(db: BenchDatabase) -> Runtime:
    """A runtime on the benchmark database with the server's settings (same secrets)."""
    return Runtime.build(db.settings(), db=db.open(pool_size=4))


def active_program(rt: Runtime, *, name: str = "基准测试消费券") -> FundedProgram:
    """An issuer, an operator (with a token), an active program and a funder of it."""
    now = rt.clock.now()
    with rt.db.write() as tx:
        issuer = issuers.create_issuer(tx, now, SYSTEM, name="基准测试商务局", region_code="330100")
        operator = staff.create_user(
            tx,
            now,
            username="bench-operator",
            password=PASSWORD,
            role=Role.OPERATOR,
            issuer_id=issuer.id,
        )
        actor = operator.actor()
        program = programs.create_program(
            tx,
            now,
            actor,
            programs.NewProgram(
                issuer_id=issuer.id,
                name=name,
                description="benchmark",
                timezone="Asia/Shanghai",
                starts_at=now,
                ends_at=now + timedelta(days=30),
            ),
        )
        programs.change_status(tx, now, actor, program.id, Action.ACTIVATE)
        funder = funding.create_funder(
            tx, now, actor, issuer_id=issuer.id, name="基准测试财政局", kind=FunderKind.DEPARTMENT
        )
    token, _ = rt.tokens.issue("staff", operator.id, now)
    return FundedProgram(issuer.id, actor, token, program.id, funder.id)


def contribute(rt: Runtime, program: FundedProgram, amount_fen: int) -> None:
    """Money in, posted at once (no second approval: the threshold is lifted for the seeding,
    above the day's cumulative amount too, so a benchmark may fund several batches)."""
    with rt.db.write() as tx:
        funding.request_movement(
            tx,
            rt.clock.now(),
            program.operator,
            funding.MovementRequest(
                program.program_id, program.funder_id, Direction.CONTRIBUTION, amount_fen, "bench"
            ),
            threshold_fen=10**15,
        )


def movement_count(rt: Runtime, program_id: str) -> int:
    with rt.db.read() as tx:
        return int(
            tx.execute(
                select(func.count())
                .select_from(fund_movements)
                .where(fund_movements.c.program_id == program_id)
            ).scalar_one()
        )


def ledger_violations(rt: Runtime) -> int:
    """Violations ``quan ledger check`` would report after the benchmark's writes."""
    with rt.db.read() as tx:
        return len(check_ledger(tx).violations)


# Ids spelled in letters only: a digit run in an id could look like a phone number to the log's
# personal-data guard and be pseudonymised (with a warning per event), which is not the path
# being measured. translate() maps the digits of the row number to letters.
_LETTERS = "abcdefghjk"


def _claimed_payload(code: str) -> str:
    """SQL for a canonical claim-like payload (sorted keys, compact) around the id ``code``."""
    return (
        '\'{"amount_fen":3000,"batch_id":"bat_bench","voucher_id":"vch_\' || ' + code + " || '\"}'"
    )


def queue_events(rt: Runtime, program_id: str, count: int, *, first: int = 0) -> None:
    """Insert ``count`` claim-like events in one statement; the events trigger queues them for
    the log exactly as the application's own inserts do."""
    now = rt.clock.now()
    if rt.db.dialect == "postgresql":
        code = f"translate(lpad(g::text, 12, '0'), '0123456789', '{_LETTERS}')"
        statement = (
            "INSERT INTO events (type, actor, subject_type, subject_id, program_id, payload,"  # noqa: S608 - fixed fragments, values bound
            " occurred_at) SELECT 'voucher.claimed', 'citizen:cit_' || " + code + ","
            " 'voucher', 'vch_' || "
            + code
            + ", %(program)s, "
            + _claimed_payload(code)
            + ", %(at)s FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g"
        )
        params: dict[str, object] = {
            "program": program_id,
            "at": now,
            "lo": first,
            "hi": first + count - 1,
        }
    else:
        code = (
            "replace(replace(replace(replace(replace(replace(replace(replace(replace(replace("
            "printf('%012d', g.x), '0', 'a'), '1', 'b'), '2', 'c'), '3', 'd'), '4', 'e'),"
            " '5', 'f'), '6', 'g'), '7', 'h'), '8', 'j'), '9', 'k')"
        )
        statement = (
            "WITH RECURSIVE g(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM g WHERE x < ?)"  # noqa: S608 - fixed fragments, values bound
            " INSERT INTO events (type, actor, subject_type, subject_id, program_id, payload,"
            " occurred_at) SELECT 'voucher.claimed', 'citizen:cit_' || " + code + ","
            " 'voucher', 'vch_' || " + code + ", ?, " + _claimed_payload(code) + ", ? FROM g"
        )
        at = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        params_seq = (first, first + count - 1, program_id, at)
    with rt.db.write() as tx:
        if rt.db.dialect == "postgresql":
            tx.exec_driver_sql(statement, params)
        else:
            tx.exec_driver_sql(statement, params_seq)
