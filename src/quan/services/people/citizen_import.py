"""Bulk import of an eligibility list: every row validated, valid rows applied, a versioned record.

Reading and validating the whole file happens before any transaction, so a file-level problem
(encoding, header, size, empty) writes nothing. The rows are then applied in **one** transaction
together with the ``citizen_imports`` record (file SHA-256, counts, who, when) and one event:
an import happens entirely or not at all.

A person already registered (or repeated within the file) is a *duplicate*, not an error. A
file whose SHA-256 was applied before is refused with ``IMPORT_ALREADY_APPLIED`` unless the
uploader confirms; the repeat is then recorded with ``repeat_of``. ``dry_run`` validates and
classifies every row against the database and writes nothing.

Speed comes from batches: existing keys are looked up ``CHUNK`` at a time and rows are inserted
with multi-row ``INSERT … ON CONFLICT DO NOTHING`` (a concurrent registration of the same person
is then skipped and reported as a duplicate instead of failing the import).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Dialect, TextClause, insert, select, text, update

from quan.clock import Clock
from quan.domain.auth import Actor
from quan.domain.citizens import local_date
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.services.people.citizen_csv import (
    IMPORT_TOO_LARGE,
    ParsedFile,
    Progress,
    RowError,
    ValidRow,
    decode,
    parse,
)
from quan.services.people.citizens import (
    PHONE_ALREADY_REGISTERED,
    Channel,
    CitizenKeys,
    insert_ignoring_conflicts,
    sealed_row,
)
from quan.store.citizen_tables import citizen_imports, citizens
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.ids import new_id

MAX_FILE_BYTES = 64 << 20  # 64 MiB ≈ 900,000 rows; bigger lists are split
CHUNK = 5_000
MAX_REPORTED = 10_000  # rows listed per kind in a report; the counts are always exact

IMPORT_ALREADY_APPLIED = define(
    "IMPORT_ALREADY_APPLIED",
    Kind.CONFLICT,
    zh="同一文件已于 {imported_at} 导入（{import_id}）；如确需再次导入，请确认（confirm=true）",
    en="This file was already imported at {imported_at} ({import_id}); confirm to import it again",
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Duplicate:
    row: int
    reason: str  # "registered" | "in_file"
    citizen_id: str | None = None  # the account that already holds the person
    first_row: int | None = None  # the row of this file that already holds the person


@dataclass(slots=True)
class ImportReport:
    import_id: str | None  # None for a dry run
    dry_run: bool
    file_name: str
    file_sha256: str
    file_bytes: int
    rows_total: int
    created: int
    duplicates: int
    errors: int
    repeat_of: str | None
    created_by: str
    created_at: datetime
    error_rows: list[RowError] = field(default_factory=list)
    duplicate_rows: list[Duplicate] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return len(self.error_rows) < self.errors or len(self.duplicate_rows) < self.duplicates


@dataclass(frozen=True, slots=True)
class _Candidate:
    row: ValidRow
    resident_hash: str
    phone_hash: str | None


def import_citizens(
    db: Database,
    clock: Clock,
    keys: CitizenKeys,
    actor: Actor,
    *,
    data: bytes,
    file_name: str,
    confirm: bool = False,
    dry_run: bool = False,
    max_bytes: int = MAX_FILE_BYTES,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate ``data`` (a CSV eligibility list) and, unless ``dry_run``, apply it."""
    if len(data) > max_bytes:
        raise QuanError(IMPORT_TOO_LARGE, max_bytes=max_bytes)
    now = clock.now()
    parsed = parse(decode(data), today=local_date(now), progress=progress)
    candidates, duplicates, errors = _dedupe_within_file(keys, parsed)
    report = ImportReport(
        import_id=None,
        dry_run=dry_run,
        file_name=file_name,
        file_sha256=hashlib.sha256(data).hexdigest(),
        file_bytes=len(data),
        rows_total=parsed.rows_total,
        created=0,
        duplicates=0,
        errors=0,
        repeat_of=None,
        created_by=actor.label,
        created_at=now,
    )
    transaction = db.read() if dry_run else db.write()
    with transaction as tx:
        report.repeat_of = _previous_import(tx, report.file_sha256, refuse=not (confirm or dry_run))
        fresh = _classify(tx, candidates, duplicates, errors)
        if not dry_run:
            _apply(tx, keys, actor, report, fresh, duplicates, errors, progress)
        else:
            report.created = len(fresh)
        _finish(report, duplicates, errors)
        if not dry_run:
            _record(tx, actor, report)
    return report


def _dedupe_within_file(
    keys: CitizenKeys, parsed: ParsedFile
) -> tuple[list[_Candidate], list[Duplicate], list[RowError]]:
    """Hash each valid row; a person or phone seen earlier in the file is not applied twice."""
    seen_people: dict[str, int] = {}
    seen_phones: set[str] = set()
    candidates: list[_Candidate] = []
    duplicates: list[Duplicate] = []
    errors = list(parsed.errors)
    for valid in parsed.valid:
        registration = valid.registration
        resident_hash = keys.resident_id_hash(registration.resident_id.number)
        phone_hash = keys.phone_hash(registration.phone) if registration.phone else None
        if resident_hash in seen_people:
            duplicates.append(Duplicate(valid.row, "in_file", first_row=seen_people[resident_hash]))
            continue
        seen_people[resident_hash] = valid.row
        if phone_hash is not None and phone_hash in seen_phones:
            errors.append(RowError(valid.row, "phone", PHONE_ALREADY_REGISTERED.code, "in_file"))
            continue
        if phone_hash is not None:
            seen_phones.add(phone_hash)
        candidates.append(_Candidate(valid, resident_hash, phone_hash))
    return candidates, duplicates, errors


def _previous_import(tx: Connection, sha256: str, *, refuse: bool) -> str | None:
    previous = tx.execute(
        select(citizen_imports.c.id, citizen_imports.c.created_at)
        .where(citizen_imports.c.file_sha256 == sha256)
        .order_by(citizen_imports.c.id.desc())
        .limit(1)
    ).first()
    if previous is None:
        return None
    if refuse:
        raise QuanError(
            IMPORT_ALREADY_APPLIED,
            import_id=previous.id,
            imported_at=previous.created_at.isoformat(),
        )
    return str(previous.id)


def _classify(
    tx: Connection,
    candidates: list[_Candidate],
    duplicates: list[Duplicate],
    errors: list[RowError],
) -> list[_Candidate]:
    """Rows whose person is registered become duplicates; whose phone is taken, errors."""
    registered: dict[str, str] = {}
    for part in _chunks([c.resident_hash for c in candidates], CHUNK):
        rows = tx.execute(
            select(citizens.c.resident_id_hash, citizens.c.id).where(
                citizens.c.resident_id_hash.in_(part)
            )
        )
        registered.update({r.resident_id_hash: r.id for r in rows})
    phones = [
        c.phone_hash for c in candidates if c.phone_hash and c.resident_hash not in registered
    ]
    taken: set[str] = set()
    for part in _chunks(phones, CHUNK):
        rows = tx.execute(select(citizens.c.phone_hash).where(citizens.c.phone_hash.in_(part)))
        taken.update(r.phone_hash for r in rows)
    fresh = []
    for candidate in candidates:
        row = candidate.row.row
        if candidate.resident_hash in registered:
            duplicates.append(Duplicate(row, "registered", registered[candidate.resident_hash]))
        elif candidate.phone_hash in taken:
            errors.append(RowError(row, "phone", PHONE_ALREADY_REGISTERED.code, "registered"))
        else:
            fresh.append(candidate)
    return fresh


def _apply(
    tx: Connection,
    keys: CitizenKeys,
    actor: Actor,
    report: ImportReport,
    fresh: list[_Candidate],
    duplicates: list[Duplicate],
    errors: list[RowError],
    progress: Progress | None,
) -> None:
    report.import_id = new_id("imp")
    # The record goes first (citizens point at it); its counts are set once all rows are in.
    tx.execute(insert(citizen_imports).values(**_import_values(report)))
    for done, part in enumerate(_chunks(fresh, CHUNK), start=1):
        rows = [
            sealed_row(
                keys,
                c.row.registration,
                citizen_id=new_id("cit"),
                via=Channel.IMPORT,
                by=actor.label,
                now=report.created_at,
                import_id=report.import_id,
                resident_hash=c.resident_hash,
                phone_hash=c.phone_hash,
            )
            for c in part
        ]
        inserted = _insert(tx, rows)
        report.created += len(inserted)
        for candidate, row in zip(part, rows, strict=True):
            if row["id"] not in inserted:
                # A concurrent registration took the person or the phone since _classify.
                _explain_skipped(tx, candidate, duplicates, errors)
        if progress is not None:
            progress("write", min(done * CHUNK, len(fresh)), len(fresh))


def _insert(tx: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert ``rows``, skipping any that meet a unique key; the ids actually inserted."""
    if tx.dialect.name == "postgresql":
        # One array per column through unnest(): a multi-row VALUES statement with 90,000
        # placeholders costs psycopg more to parse than PostgreSQL needs to insert the rows.
        arrays = {c.name: [row[c.name] for row in rows] for c in citizens.columns}
        return {r.id for r in tx.execute(_unnest_insert(tx.dialect), arrays)}
    statement = insert_ignoring_conflicts(tx).returning(citizens.c.id)
    return {r.id for r in tx.execute(statement, rows)}


def _unnest_insert(dialect: Dialect) -> TextClause:
    names = [c.name for c in citizens.columns]
    arrays = ", ".join(
        f"CAST(:{c.name} AS {c.type.compile(dialect=dialect)}[])" for c in citizens.columns
    )
    # Built from the table definition only; every value travels as a bound parameter.
    return text(
        f"INSERT INTO citizens ({', '.join(names)}) SELECT * FROM unnest({arrays}) "  # noqa: S608
        "ON CONFLICT DO NOTHING RETURNING id"
    )


def _explain_skipped(
    tx: Connection, candidate: _Candidate, duplicates: list[Duplicate], errors: list[RowError]
) -> None:
    holder = tx.execute(
        select(citizens.c.id).where(citizens.c.resident_id_hash == candidate.resident_hash)
    ).first()
    if holder is not None:
        duplicates.append(Duplicate(candidate.row.row, "registered", holder.id))
    else:
        errors.append(
            RowError(candidate.row.row, "phone", PHONE_ALREADY_REGISTERED.code, "registered")
        )


def _finish(report: ImportReport, duplicates: list[Duplicate], errors: list[RowError]) -> None:
    report.duplicates = len(duplicates)
    report.errors = len(errors)
    report.duplicate_rows = sorted(duplicates, key=lambda d: d.row)[:MAX_REPORTED]
    report.error_rows = sorted(errors, key=lambda e: e.row)[:MAX_REPORTED]


def _import_values(report: ImportReport) -> dict[str, Any]:
    return {
        "id": report.import_id,
        "file_sha256": report.file_sha256,
        "file_name": report.file_name,
        "file_bytes": report.file_bytes,
        "rows_total": report.rows_total,
        "created_count": report.created,
        "duplicate_count": report.duplicates,
        "error_count": report.errors,
        "report": json.dumps(
            {
                "errors": [asdict(e) for e in report.error_rows],
                "duplicates": [asdict(d) for d in report.duplicate_rows],
            },
            ensure_ascii=False,
        ),
        "repeat_of": report.repeat_of,
        "created_by": report.created_by,
        "created_at": report.created_at,
    }


def _record(tx: Connection, actor: Actor, report: ImportReport) -> None:
    import_id = str(report.import_id)
    values = _import_values(report)
    values.pop("id")
    tx.execute(update(citizen_imports).where(citizen_imports.c.id == import_id).values(**values))
    record_event(
        tx,
        type="citizen_import.applied",
        actor=actor,
        subject_type="citizen_import",
        subject_id=import_id,
        at=report.created_at,
        payload={
            "file_sha256": report.file_sha256,
            "rows_total": report.rows_total,
            "created": report.created,
            "duplicates": report.duplicates,
            "errors": report.errors,
            "repeat_of": report.repeat_of,
        },
    )


def get_import(tx: Connection, import_id: str) -> ImportReport:
    row = tx.execute(select(citizen_imports).where(citizen_imports.c.id == import_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"citizen import {import_id}")
    return report_from_row(row)


def report_from_row(row: Any) -> ImportReport:
    m = row._mapping
    stored = json.loads(m["report"])
    return ImportReport(
        import_id=m["id"],
        dry_run=False,
        file_name=m["file_name"],
        file_sha256=m["file_sha256"],
        file_bytes=m["file_bytes"],
        rows_total=m["rows_total"],
        created=m["created_count"],
        duplicates=m["duplicate_count"],
        errors=m["error_count"],
        repeat_of=m["repeat_of"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        error_rows=[RowError(**e) for e in stored["errors"]],
        duplicate_rows=[Duplicate(**d) for d in stored["duplicates"]],
    )


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
