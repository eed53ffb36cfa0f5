"""CSV files over HTTP, the same from the API and the console: settlement statements, their
lines and the bank payout file (the payout export is recorded by the service)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Select

from quan.api.schemas.settlements import StatementLine
from quan.domain.auth import Actor
from quan.domain.settlement import LINE_COLUMNS, PAYOUT_COLUMNS, STATEMENT_COLUMNS, to_csv
from quan.services.merchants import merchants
from quan.services.runtime import Runtime
from quan.services.settlement import settlement
from quan.store.db import Database
from quan.store.redemption_tables import redemptions, settlement_statements

CSV = "text/csv; charset=utf-8"
STREAM_ROWS = 5000  # rows read and written at a time when streaming a CSV file


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
) -> StreamingResponse:
    """A CSV file of every row of ``query``, written as it is read (a big merchant's statement
    has millions of lines; none of them is held in memory all at once)."""

    def chunks() -> Iterator[str]:
        yield "\ufeff" + to_csv(columns, [])
        with db.read() as tx:
            result = tx.execute(query.execution_options(yield_per=STREAM_ROWS))
            for part in result.partitions():
                yield to_csv(columns, (to_row(r) for r in part), header=False)

    return StreamingResponse(
        chunks(),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def statements_csv(rt: Runtime, actor: Actor, settlement_id: str) -> StreamingResponse:
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
    )


def statement_lines_csv(
    rt: Runtime, actor: Actor, settlement_id: str, merchant_id: str
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
    )


def payout_csv(rt: Runtime, actor: Actor, settlement_id: str) -> Response:
    """The pending payouts with bank accounts in clear, for the bank; the export is recorded."""
    key = merchants.sealing_key(rt.settings)
    with rt.db.write() as tx:
        rows = settlement.payout_file(tx, rt.clock.now(), actor, key, settlement_id)
    return csv_response(to_csv(PAYOUT_COLUMNS, rows), f"payouts-{settlement_id}.csv")
