"""The auditor's log browser: entries found by type, program, subject and local dates, shown in
words — times in the program's time zone, event types named, actors by username or shop name.

The rows are the very leaves the public ``/api/v1/audit/entries`` serves (recomputed from the
events through :func:`quan.services.transparency.transparency.entries_at`); only their
presentation is added here. Citizens stay pseudonyms: the names come from staff, merchant and
terminal rows, never from citizens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from quan.config import Settings
from quan.services.transparency import transparency
from quan.store import log as log_store
from quan.store.log_read import EntryQuery, find_entries
from quan.store.merchant_tables import merchants, terminals
from quan.store.tables import programs, staff_users
from quan.web.templating import DEFAULT_ZONE

PAGE = 50
_TYPE = re.compile(r"[a-z_]{1,40}(\.[a-z_]{1,40})?")
_ID = re.compile(r"[A-Za-z0-9_:.-]{1,80}")


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """The browser's form, as typed (strings), and what was wrong with it (field → message key)."""

    type: str = ""
    program: str = ""
    subject: str = ""
    since: str = ""  # local date YYYY-MM-DD, inclusive
    until: str = ""  # local date YYYY-MM-DD, inclusive
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return any((self.type, self.program, self.subject, self.since, self.until))

    def query_string(self) -> str:
        """The filter as URL parameters, for the paging links."""
        pairs = [
            ("type", self.type),
            ("program", self.program),
            ("subject", self.subject),
            ("from", self.since),
            ("to", self.until),
        ]
        return "&".join(f"{k}={v}" for k, v in pairs if v)


def parse_filter(params: Mapping[str, str]) -> EntryFilter:
    """Read the form; a value that cannot be right is kept (to show it) and named in ``errors``."""
    values = {
        "type": params.get("type", "").strip(),
        "program": params.get("program", "").strip(),
        "subject": params.get("subject", "").strip(),
        "since": params.get("from", "").strip(),
        "until": params.get("to", "").strip(),
    }
    errors: dict[str, str] = {}
    if values["type"] and not _TYPE.fullmatch(values["type"]):
        errors["type"] = "audit.filter_bad_type"
    for name in ("program", "subject"):
        if values[name] and not _ID.fullmatch(values[name]):
            errors[name] = "audit.filter_bad_id"
    for name in ("since", "until"):
        if values[name] and _date(values[name]) is None:
            errors[name] = "audit.filter_bad_date"
    since, until = values["since"], values["until"]
    if not errors and since and until and until < since:
        errors["until"] = "audit.filter_until_before_since"
    # Characters that could not be right are not echoed back into the page's links.
    safe = {k: ("" if k in errors else v) for k, v in values.items()}
    return EntryFilter(
        type=safe["type"],
        program=safe["program"],
        subject=safe["subject"],
        since=safe["since"],
        until=safe["until"],
        errors=errors,
    )


def _date(text: str) -> date | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2999 and len(text) == 10 else None


@dataclass(frozen=True, slots=True)
class EntryRow:
    index: int
    leaf: dict[str, Any]
    payload: str  # compact JSON, as the leaf holds it
    local_time: str  # the program's local time (the deployment's zone without a program)
    zone: str
    actor_kind: str  # staff | merchant | terminal | citizen | system | other
    actor_name: str  # a username, a shop's name, a shortened pseudonym…


@dataclass(frozen=True, slots=True)
class EntryPage:
    rows: list[EntryRow]
    size: int  # the log's size at its latest checkpoint
    older: int | None  # ``before=`` of the next page back, if any
    programs: list[tuple[str, str]]  # (id, name) for the program choice


def entry_page(
    tx: Connection, settings: Settings, flt: EntryFilter, before: int | None
) -> EntryPage:
    """One page of the entries matching ``flt`` below index ``before`` (the newest first)."""
    head = log_store.latest_checkpoint(tx)
    size = head.tree_size if head else 0
    zones = _program_zones(tx)
    choices = [(pid, name) for pid, (name, _) in sorted(zones.items(), key=lambda kv: kv[1][0])]
    if not size or flt.errors:
        return EntryPage([], size, None, choices)
    below = size if before is None else min(max(before, 0), size)
    query = _query(flt, zones)
    indexes = find_entries(tx, query, below, PAGE + 1)
    shown = indexes[:PAGE]
    found = transparency.entries_at(tx, shown, transparency.pseudonymizer(settings))
    leaves = [(entry.index, json.loads(entry.data)) for entry in found]
    names = _actor_names(tx, (leaf.get("actor", "") for _, leaf in leaves))
    rows = [_row(index, leaf, zones, names) for index, leaf in leaves]
    older = shown[-1] if len(indexes) > PAGE else None
    return EntryPage(rows, size, older, choices)


def _query(flt: EntryFilter, zones: Mapping[str, tuple[str, str]]) -> EntryQuery:
    zone = ZoneInfo(zones[flt.program][1] if flt.program in zones else DEFAULT_ZONE)

    def start_of(text: str) -> datetime | None:
        day = _date(text) if text else None
        return datetime.combine(day, time(), zone) if day else None

    until = start_of(flt.until)
    return EntryQuery(
        type=flt.type or None,
        program_id=flt.program or None,
        subject_id=flt.subject or None,
        since=start_of(flt.since),
        until=until + timedelta(days=1) if until else None,
    )


def _program_zones(tx: Connection) -> dict[str, tuple[str, str]]:
    """Every program's (name, time zone) by id."""
    p = programs.c
    rows = tx.execute(select(p.id, p.name, p.timezone)).all()
    return {pid: (name, zone or DEFAULT_ZONE) for pid, name, zone in rows}


def _actor_names(tx: Connection, actors: Iterable[str]) -> dict[str, str]:
    """Names of the staff, merchants and terminals among ``actors`` (``kind:id``): three reads."""
    wanted: dict[str, set[str]] = {"staff": set(), "merchant": set(), "terminal": set()}
    for actor in actors:
        kind, _, ident = actor.partition(":")
        if kind in wanted:
            wanted[kind].add(ident)
    names: dict[str, str] = {}
    if wanted["staff"]:
        u = staff_users.c
        for ident, username in tx.execute(
            select(u.id, u.username).where(u.id.in_(wanted["staff"]))
        ):
            names[f"staff:{ident}"] = username
    if wanted["merchant"]:
        m = merchants.c
        for ident, name in tx.execute(select(m.id, m.name).where(m.id.in_(wanted["merchant"]))):
            names[f"merchant:{ident}"] = name
    if wanted["terminal"]:
        t, m = terminals.c, merchants.c
        for ident, label, shop in tx.execute(
            select(t.id, t.label, m.name)
            .select_from(terminals.join(merchants, m.id == t.merchant_id))
            .where(t.id.in_(wanted["terminal"]))
        ):
            names[f"terminal:{ident}"] = f"{shop} · {label}"
    return names


def _row(
    index: int,
    leaf: dict[str, Any],
    zones: Mapping[str, tuple[str, str]],
    names: Mapping[str, str],
) -> EntryRow:
    program_id = str(leaf.get("program_id") or "")
    zone = zones[program_id][1] if program_id in zones else DEFAULT_ZONE
    occurred = datetime.fromisoformat(str(leaf.get("occurred_at", "")).replace("Z", "+00:00"))
    actor = str(leaf.get("actor", ""))
    kind, _, ident = actor.partition(":")
    if kind == "citizen":
        # A per-program pseudonym: its first twelve characters tell entries apart on a page.
        name = ident[:12] + "…" if len(ident) > 12 else ident
    elif kind == "system":
        name = ""
    else:
        name = names.get(actor, ident)
    if kind not in ("staff", "merchant", "terminal", "citizen", "system"):
        kind = "other"
    payload = json.dumps(leaf.get("payload", {}), ensure_ascii=False, separators=(",", ":"))
    return EntryRow(
        index=index,
        leaf=leaf,
        payload=payload,
        local_time=occurred.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S"),
        zone=zone,
        actor_kind=kind,
        actor_name=name,
    )
