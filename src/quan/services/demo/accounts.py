"""The demo's staff accounts and where their generated passwords are kept.

Passwords are generated on first seeding and kept, with the demo terminal's key and phone, in
``var/demo-credentials.json`` (0600), so a second ``make run`` prints the same sign-ins instead of
failing or resetting them. Development only: the file never exists in production.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from quan.domain.auth import Role
from quan.services.people import staff

FILE_NAME = "demo-credentials.json"


@dataclass(frozen=True, slots=True)
class Account:
    key: str  # the entry in the credentials file
    username: str
    role: Role
    display_name: str
    of_issuer: bool  # operators and agents belong to the issuer; admin and auditor do not


ACCOUNTS = (
    Account("admin", "demo-admin", Role.ADMIN, "演示管理员", of_issuer=False),
    Account("operator", "demo-operator", Role.OPERATOR, "演示操作员", of_issuer=True),
    # The second person of maker-checker: approves large contributions, confirms payouts.
    Account("checker", "demo-checker", Role.OPERATOR, "演示复核员", of_issuer=True),
    Account("auditor", "demo-auditor", Role.AUDITOR, "演示审计员", of_issuer=False),
    Account("agent", "demo-agent", Role.AGENT, "演示服务网点", of_issuer=True),
)


def load(var_dir: Path) -> dict[str, Any]:
    """The stored credentials, with a password for every account (new ones generated)."""
    path = var_dir / FILE_NAME
    stored: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    missing = [a.key for a in ACCOUNTS if a.key not in stored]
    for key in missing:
        stored[key] = secrets.token_urlsafe(12)
    if missing:
        save(var_dir, stored)
    return stored


def save(var_dir: Path, stored: dict[str, Any]) -> None:
    path = var_dir / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # Created with 0600 from the start: the passwords are never world-readable, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(stored, f, indent=2, ensure_ascii=False)
    os.replace(tmp, path)


def create(
    tx: Connection, now: datetime, issuer_id: str, passwords: dict[str, Any]
) -> dict[str, staff.StaffUser]:
    """Every demo account, through the staff service (its password and role rules apply)."""
    return {
        a.key: staff.create_user(
            tx,
            now,
            username=a.username,
            password=str(passwords[a.key]),
            role=a.role,
            issuer_id=issuer_id if a.of_issuer else None,
            display_name=a.display_name,
        )
        for a in ACCOUNTS
    }
