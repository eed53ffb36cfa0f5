"""The demo that ``make run`` seeds: one issuer, an operator, an auditor, one funded program.

Passwords are generated on first seeding and kept in ``var/demo-credentials.json`` (0600), so a
second ``make run`` shows the same credentials instead of failing or resetting them.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from quan.domain.auth import SYSTEM, Actor, Role
from quan.domain.funding import Direction, FunderKind
from quan.domain.programs import Action
from quan.services.money import funding, issuers, programs
from quan.services.people import staff
from quan.services.runtime import Runtime
from quan.store.tables import programs as programs_table

ISSUER_NAME = "杭州市商务局（演示）"
PROGRAM_NAME = "2026 冬季服务消费券（演示）"


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    password: str
    role: str


@dataclass(frozen=True, slots=True)
class Demo:
    issuer_id: str
    program_id: str
    accounts: list[DemoAccount]
    created: bool


def _credentials(path: Path) -> dict[str, str]:
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    creds = {
        "admin": secrets.token_urlsafe(12),
        "operator": secrets.token_urlsafe(12),
        "auditor": secrets.token_urlsafe(12),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(creds, f, indent=2)
    return creds


def seed(rt: Runtime) -> Demo:
    creds = _credentials(rt.settings.var_dir / "demo-credentials.json")
    accounts = [
        DemoAccount("demo-admin", creds["admin"], Role.ADMIN.value),
        DemoAccount("demo-operator", creds["operator"], Role.OPERATOR.value),
        DemoAccount("demo-auditor", creds["auditor"], Role.AUDITOR.value),
    ]
    now = rt.clock.now()
    with rt.db.write() as tx:
        existing = issuers.find_issuer_by_name(tx, ISSUER_NAME)
        if existing is not None:
            program_id = tx.execute(
                select(programs_table.c.id).where(programs_table.c.issuer_id == existing.id)
            ).scalar_one()
            return Demo(existing.id, program_id, accounts, created=False)
        issuer = issuers.create_issuer(tx, now, SYSTEM, name=ISSUER_NAME, region_code="330100")
        staff.create_user(
            tx, now, username="demo-admin", password=creds["admin"], role=Role.ADMIN, issuer_id=None
        )
        operator = staff.create_user(
            tx,
            now,
            username="demo-operator",
            password=creds["operator"],
            role=Role.OPERATOR,
            issuer_id=issuer.id,
            display_name="演示操作员",
        )
        staff.create_user(
            tx,
            now,
            username="demo-auditor",
            password=creds["auditor"],
            role=Role.AUDITOR,
            issuer_id=None,
            display_name="演示审计员",
        )
        actor: Actor = operator.actor()
        program = programs.create_program(
            tx,
            now,
            actor,
            programs.NewProgram(
                issuer_id=issuer.id,
                name=PROGRAM_NAME,
                description="餐饮、文旅、体育、养老等服务消费券，演示数据。",
                timezone="Asia/Shanghai",
                starts_at=now,
                ends_at=now + timedelta(days=120),
            ),
        )
        programs.change_status(tx, now, actor, program.id, Action.ACTIVATE)
        for name, kind, amount in (
            ("杭州市财政局", FunderKind.DEPARTMENT, 50_000_000),  # ¥500,000.00
            ("合作银行", FunderKind.BANK, 20_000_000),
        ):
            funder = funding.create_funder(
                tx, now, actor, issuer_id=issuer.id, name=name, kind=kind
            )
            funding.request_movement(
                tx,
                now,
                actor,
                funding.MovementRequest(
                    program.id, funder.id, Direction.CONTRIBUTION, amount, name
                ),
                threshold_fen=rt.settings.approval_threshold_fen,
            )
    return Demo(issuer.id, program.id, accounts, created=True)
