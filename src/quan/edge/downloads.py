"""CSV files over HTTP, the same from the API and the console: settlement statements, their
lines and the bank payout file (the payout export is recorded by the service).

The API's copy keeps the machine columns (codes, fen, UTC). A person's copy (the console's
downloads) is the same file :class:`Shown` another way: headers in the page's language, amounts
in yuan (``1234.50``, a number to a spreadsheet), times in the program's time zone, coded values
in words. Both go through the one export writer, so formula-leading cells are defused alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Select

from quan.api.schemas.settlements import StatementLine
from quan.domain.auth import Actor
from quan.domain.csv_export import csv_text
from quan.domain.settlement import LINE_COLUMNS, PAYOUT_COLUMNS, STATEMENT_COLUMNS, to_csv
from quan.services.merchants import merchants
from quan.services.runtime import Runtime
from quan.services.settlement import payouts, settlement
from quan.store.db import Database
from quan.store.redemption_tables import redemptions, settlement_statements

CSV = "text/csv; charset=utf-8"
STREAM_ROWS = 5000  # rows read and written at a time when streaming a CSV file


@dataclass(frozen=True, slots=True)
class Shown:
    """How a person's copy reads: ``label(column)`` is the header, ``word(column, value)`` a
    coded value in words (or the value itself), ``zone`` the program's time zone; columns in
    ``drop`` are left out (``amount_yuan`` when ``amount_fen`` is already in yuan)."""

    label: Callable[[str], str]
    word: Callable[[str, Any], Any]
    zone: str
    drop: frozenset[str] = field(default_factory=frozenset)

    def columns(self, columns: Sequence[str]) -> list[str]:
        return [c for c in columns if c not in self.drop]

    def header(self, columns: Sequence[str]) -> list[str]:
        return [self.label(c) for c in self.columns(columns)]

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {k: self._cell(k, v) for k, v in row.items()}

    def _cell(self, column: str, value: Any) -> Any:
        if column.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value).scaleb(-2).quantize(Decimal("0.01"))
        if isinstance(value, datetime):
            return value.astimezone(ZoneInfo(self.zone)).strftime("%Y-%m-%d %H:%M:%S")
        return self.word(column, value)


def _lines(columns: Sequence[str], rows: Iterator[dict[str, Any]] | list[dict[str, Any]],
           shown: Shown | None, *, header: bool = True) -> str:
    if shown is None:
        return to_csv(columns, rows, header=header)
    kept = shown.columns(columns)
    body = ([r.get(c) for c in kept] for r in (shown.row(r) for r in rows))
    return csv_text(shown.header(columns) if header else None, body)


def csv_response(text: str, filename: str) -> Response:
    # A byte-order mark so that spreadsheet programs read the Chinese names as UTF-8.
    return Response(
        "\ufeff" + text,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def stream_csv(
    db: Database,
    query: Select[Any],
    columns: Sequence[str],
    to_row: Callable[[Any], dict[str, Any]],
    filename: str,
    shown: Shown | None = None,
) -> StreamingResponse:
    """A CSV file of every row of ``query``, written as it is read (a big merchant's statement
    has millions of lines; none of them is held in memory all at once)."""

    def chunks() -> Iterator[str]:
        yield "\ufeff" + _lines(columns, [], shown)
        with db.read() as tx:
            result = tx.execute(query.execution_options(yield_per=STREAM_ROWS))
            for part in result.partitions():
                yield _lines(columns, (to_row(r) for r in part), shown, header=False)

    return StreamingResponse(
        chunks(),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def statements_csv(
    rt: Runtime, actor: Actor, settlement_id: str, shown: Shown | None = None
) -> StreamingResponse:
    """Every statement of a run that ``actor`` may read, by merchant id."""
    with rt.db.read() as tx:
        settlement.visible_run(tx, actor, settlement_id)
    return stream_csv(
        rt.db,
        settlement.statement_query(actor, settlement_id).order_by(
            settlement_statements.c.merchant_id
        ),
        STATEMENT_COLUMNS,
        lambda r: dict(r._mapping),
        f"statements-{settlement_id}.csv",
        shown,
    )


def statement_lines_csv(
    rt: Runtime, actor: Actor, settlement_id: str, merchant_id: str, shown: Shown | None = None
) -> StreamingResponse:
    """Every line of one merchant's statement, by redemption id."""
    with rt.db.read() as tx:
        found, _ = settlement.merchant_statement(tx, actor, settlement_id, merchant_id)
    return stream_csv(
        rt.db,
        settlement.lines_query(found, merchant_id).order_by(redemptions.c.id),
        LINE_COLUMNS,
        lambda r: StatementLine.of(r).csv_row(),
        f"statement-{settlement_id}-{merchant_id}.csv",
        shown,
    )


def payout_csv(
    rt: Runtime, actor: Actor, settlement_id: str, shown: Shown | None = None
) -> Response:
    """The pending payouts with bank accounts in clear, for the bank; the export is recorded."""
    key = merchants.sealing_key(rt.settings)
    with rt.db.write() as tx:
        rows = payouts.payout_file(tx, rt.clock.now(), actor, key, settlement_id)
    return csv_response(_lines(PAYOUT_COLUMNS, rows, shown), f"payouts-{settlement_id}.csv")
