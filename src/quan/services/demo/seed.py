"""``seed(rt)``: the demo in order, on a timeline ending now; idempotent against any later state.

The demo exists once its issuer does (the issuer is created in the first transaction, with the
accounts, the program and its money). A later run only looks things up: whatever operators have
created since (more programs, batches, merchants) is left alone and cannot confuse it.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from quan.clock import FixedClock
from quan.domain.auth import Actor
from quan.domain.citizens import local_date
from quan.services.demo import accounts, activity, people, program, shops
from quan.services.demo import complaints as demo_complaints
from quan.services.merchants import merchants
from quan.services.money import issuers
from quan.services.people import citizens
from quan.services.people.citizen_import import import_citizens
from quan.services.runtime import Runtime
from quan.store.tables import programs as programs_table

CLAIMS = 150  # of the 300 residents, this many claimed a first-come voucher
# Redeemed the day before yesterday, settled and paid yesterday. Nothing is redeemed after the
# settled day, so the first settlement a user runs holds their own redemptions only.
REDEEMED_SETTLED_DAY = 60
LOTTERY_ENTRIES = 120


@dataclass(frozen=True, slots=True)
class SignIn:
    role: str
    who: str
    how: str


@dataclass(frozen=True, slots=True)
class Demo:
    issuer_id: str
    program_id: str | None  # None if it cannot be found any more (renamed by an operator)
    sign_ins: list[SignIn]
    created: bool


@dataclass(frozen=True, slots=True)
class Timeline:
    """Instants relative to now, in the program's time zone: setup three days ago; the first-come
    batch and the settled day the day before yesterday; its payout and the lottery yesterday."""

    now: datetime
    today: date

    @classmethod
    def ending(cls, now: datetime) -> Timeline:
        return cls(now, local_date(now, program.TIMEZONE))

    def at(self, days_ago: int, hour: int) -> datetime:
        day = self.today - timedelta(days=days_ago)
        return datetime.combine(day, time(hour), ZoneInfo(program.TIMEZONE))


def seed(rt: Runtime) -> Demo:
    stored = accounts.load(rt.settings.var_dir)
    with rt.db.read() as tx:
        existing = issuers.find_issuer_by_name(tx, program.ISSUER_NAME)
        if existing is not None:
            # The first program of that name the demo issuer has: never assume it is the only one.
            program_id = tx.execute(
                select(programs_table.c.id)
                .where(
                    programs_table.c.issuer_id == existing.id,
                    programs_table.c.name == program.PROGRAM_NAME,
                )
                .order_by(programs_table.c.id)
                .limit(1)
            ).scalar_one_or_none()
            return Demo(existing.id, program_id, sign_ins(stored), created=False)
    built = _build(rt, Timeline.ending(rt.clock.now()), stored)
    accounts.save(rt.settings.var_dir, stored)
    return dataclasses.replace(built, sign_ins=sign_ins(stored))


def _build(rt: Runtime, line: Timeline, stored: dict[str, object]) -> Demo:
    settings = rt.settings
    pii = merchants.pii_key(settings.secret_bytes("pii_key"))
    setup = line.at(3, 9)
    with rt.db.write() as tx:
        issuer_id = program.issuer(tx, setup)
        users = accounts.create(tx, setup, issuer_id, stored)
        operator: Actor = users["operator"].actor()
        checker: Actor = users["checker"].actor()
        program_id = program.program(tx, setup, operator, issuer_id)
        pending = program.fund(
            tx, setup, operator, issuer_id, program_id, settings.approval_threshold_fen
        )
        opened = shops.open_shops(
            tx, setup, operator, pii, issuer_id, citizens.CitizenKeys.from_settings(settings).outbox
        )
    stored["terminal"] = {"merchant": opened[0].name, "key": opened[0].terminal_key}
    stored["citizen_phone"] = people.phone(people.SHOWN)
    stored["pending_contribution"] = pending

    residents = people.residents(line.today)
    keys = citizens.CitizenKeys.from_settings(settings)
    import_citizens(
        rt.db, FixedClock(setup + timedelta(hours=1)), keys, operator,
        data=people.eligibility_csv(residents), file_name="demo-residents.csv",
    )  # fmt: skip
    with rt.db.read() as tx:
        ids = []
        for person in residents:
            found = citizens.find_by_resident_id(tx, keys, person.resident_id)
            assert found is not None, "the demo's import refused one of its residents"
            ids.append(found.id)

    with rt.db.write() as tx:
        fcfs, lottery_batch = program.issuance(
            tx, settings, operator, program_id,
            fcfs_at=line.at(2, 8), lottery_at=line.at(1, 9),
            lottery_closes=line.now + timedelta(days=2),
        )  # fmt: skip
    rng = random.Random(7)  # noqa: S311 - order amounts, not secrets
    claimants = [c for i, c in enumerate(ids) if i != people.SHOWN][:CLAIMS]
    vouchers = activity.claim_all(rt, claimants, fcfs, line.at(2, 8), timedelta(hours=2))
    activity.redeem_all(
        rt, vouchers[:REDEEMED_SETTLED_DAY], opened, line.at(2, 11), timedelta(hours=9), rng
    )
    activity.settle_and_pay(
        rt, program_id, line.today - timedelta(days=2), operator, checker,
        settle_at=line.at(1, 8), paid_at=line.at(1, 11),
    )  # fmt: skip
    elderly_first = sorted(
        (c for i, c in enumerate(ids) if i != people.SHOWN),
        key=lambda c: not residents[ids.index(c)].elderly,
    )
    activity.register_all(
        rt, elderly_first[:LOTTERY_ENTRIES], lottery_batch, line.at(1, 9), timedelta(hours=3)
    )
    demo_complaints.file(rt, keys, operator, ids[people.SHOWN], opened[1], line.at(1, 10))
    _sequence_log(rt, line.now)
    return Demo(issuer_id, program_id, [], created=True)


def _sequence_log(rt: Runtime, now: datetime) -> None:
    """Append every event to the transparency log and sign its head, as the sequencer would."""
    from quan.jobs import sequencer  # the job, not a copy of it (jobs build on services)

    fixed = dataclasses.replace(rt, clock=FixedClock(now))
    sequencer.run_once(fixed, holder=sequencer.new_holder())


def sign_ins(stored: dict[str, object]) -> list[SignIn]:
    """How to sign in as every role (printed by ``quan demo seed``, development only)."""
    console = {
        "admin": "/ops",
        "operator": "/ops",
        "checker": "/ops",
        "auditor": "/auditor",
        "agent": "/desk",
    }
    rows = [
        SignIn(
            a.role.value + (" (second person)" if a.key == "checker" else ""),
            a.username,
            f"password {stored[a.key]} · console {console.get(a.key, '— (API only)')}"
            " · API POST /api/v1/auth/token",
        )
        for a in accounts.ACCOUNTS
    ]
    terminal = stored.get("terminal")
    if isinstance(terminal, dict):
        rows.append(
            SignIn(
                "terminal (cashier)",
                str(terminal["merchant"]),
                f"API key {terminal['key']} · console /cashier/signin"
                " · API header Authorization: Bearer <key>",
            )
        )
    phone = stored.get("citizen_phone")
    if phone:
        rows.append(
            SignIn(
                "citizen (phone)",
                str(phone),
                "console /wallet/signin · API POST /api/v1/citizens/otp {phone}, then"
                " POST /api/v1/citizens/session; the SMS code is in GET /api/v1/dev/outbox"
                " (admin)",
            )
        )
    return rows
