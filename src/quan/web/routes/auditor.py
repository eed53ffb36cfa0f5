"""The auditor view: the latest signed checkpoint, the verification status (the independent
verifier run against this server), an entries browser, and exports for third-party auditors.

Open to admins and auditors, like ``GET /events``; the log endpoints themselves stay public.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse
from sqlalchemy import select

from quan.domain.csv_export import csv_text
from quan.edge.deps import RuntimeDep
from quan.services.runtime import Runtime
from quan.services.transparency import transparency
from quan.store import ledger
from quan.store.tables import programs as programs_table
from quan.web.messages_audit import EVENT_NAMES
from quan.web.routes.common import AuditorPage, console_router, staff_context
from quan.web.templating import DEFAULT_ZONE, render
from quan.web.views import audit, audit_entries

router = console_router()


def verifier_http(request: Request) -> Iterator[httpx.Client]:
    """An HTTP client for this server's own public endpoints.

    It connects to the socket the request arrived on (plain HTTP: behind a reverse proxy that
    is the address uvicorn listens on, which the public name may not reach from inside), so
    the verifier reads exactly what outsiders read. Tests replace it with an in-process client.
    """
    server = request.scope.get("server")
    if server and server[1]:
        host = f"[{server[0]}]" if ":" in server[0] else server[0]
        base = f"http://{host}:{server[1]}"
    else:
        base = str(request.base_url).rstrip("/")
    with httpx.Client(base_url=base, timeout=60) as client:
        yield client


VerifierHttp = Annotated[httpx.Client, Depends(verifier_http)]


@router.get("/auditor")
def auditor_page(request: Request, actor: AuditorPage, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        status = audit.log_status(tx, rt.settings)
    return render(
        request,
        "audit/index.html",
        staff_context(actor, "audit", status=status, last=audit.last_verified(rt.settings)),
    )


@router.post("/auditor/verify")
def verify(request: Request, actor: AuditorPage, rt: RuntimeDep, http: VerifierHttp) -> Response:
    result = audit.verify(http, rt.settings)
    return render(request, "audit/_verification.html", {"result": result})


@router.get("/auditor/entries")
def entries_page(
    request: Request,
    actor: AuditorPage,
    rt: RuntimeDep,
    before: int | None = None,
    at: int | None = None,
) -> Response:
    """Entries newest first, filtered by type, program, subject and local dates; ``before``
    pages back, ``at`` shows entry ``at`` and older."""
    flt = audit_entries.parse_filter(request.query_params)
    if at is not None:
        before = at + 1
    with rt.db.read() as tx:
        page = audit_entries.entry_page(tx, rt.settings, flt, before)
    return render(
        request,
        "audit/entries.html",
        staff_context(
            actor,
            "audit",
            page=page,
            flt=flt,
            families=_FAMILIES,
            request_before=before,
            default_zone=DEFAULT_ZONE,
        ),
        status_code=400 if flt.errors else 200,
    )


# The event families of the type choice, each with its types (the family: every one of them).
_FAMILIES: dict[str, list[str]] = {}
for _type in sorted(EVENT_NAMES):
    _FAMILIES.setdefault(_type.split(".")[0], []).append(_type)


@router.get("/auditor/export/checkpoint.txt")
def export_checkpoint(actor: AuditorPage, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        head = transparency.latest(tx)
    return PlainTextResponse(
        head.note,
        headers={"Content-Disposition": 'attachment; filename="quan-checkpoint.txt"'},
    )


def _jsonl(rt: Runtime, size: int) -> Iterator[bytes]:
    pseudonymize = transparency.pseudonymizer(rt.settings)
    for start in range(0, size, transparency.MAX_ENTRIES_PER_PAGE):
        end = min(start + transparency.MAX_ENTRIES_PER_PAGE, size) - 1
        with rt.db.read() as tx:
            found = transparency.entries(tx, start, end, pseudonymize)
        for entry in found:
            # The exact leaf bytes, one per line: hash each line (without its newline) to check.
            yield entry.data + b"\n"


@router.get("/auditor/export/log-entries.jsonl")
def export_entries(actor: AuditorPage, rt: RuntimeDep) -> Response:
    """Every entry up to the latest checkpoint (which is exported beside it)."""
    with rt.db.read() as tx:
        size = transparency.latest(tx).tree_size
    return StreamingResponse(
        _jsonl(rt, size),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": f'attachment; filename="quan-log-0-{size}.jsonl"',
            "X-Quan-Tree-Size": str(size),
        },
    )


@router.get("/auditor/export/budgets.csv")
def export_budgets(actor: AuditorPage, rt: RuntimeDep) -> Response:
    """Every program's budget figures from the ledger, in fen, read in one snapshot."""
    lines: list[list[Any]] = []
    header = [
        "program_id",
        "name",
        "status",
        "funded_fen",
        "available_fen",
        "reserved_fen",
        "payable_fen",
        "paid_fen",
        "returned_fen",
        "identity_holds",
    ]
    with rt.db.read() as tx:
        rows = tx.execute(
            select(programs_table.c.id, programs_table.c.name, programs_table.c.status).order_by(
                programs_table.c.id
            )
        ).all()
        for pid, name, status in rows:
            b = ledger.budget(tx, pid)
            lines.append(
                [
                    pid,
                    name,
                    status,
                    b.funded_fen,
                    b.available_fen,
                    b.reserved_fen,
                    b.payable_fen,
                    b.paid_fen,
                    b.returned_fen,
                    b.identity_holds,
                ]
            )
    # A byte-order mark, so that Excel opens the Chinese names as UTF-8.
    return Response(
        "\ufeff" + csv_text(header, lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="quan-budgets.csv"'},
    )
