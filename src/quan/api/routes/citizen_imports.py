"""Eligibility-list imports: upload a CSV (the request body itself), read past imports.

The upload is the raw body (``Content-Type: text/csv``), not a multipart form, so any HTTP client
(curl ``--data-binary @list.csv``) can send it. Bodies are capped by the API's body limit;
bigger lists go through ``quan citizens import FILE`` on the server.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.exceptions import HTTPException

from quan.api.schemas.citizens import ImportReportPublic
from quan.api.schemas.common import Limit, Page
from quan.domain.auth import Actor, Role
from quan.domain.errors import Kind, QuanError, define
from quan.edge.deps import Allow, KeysDep, RuntimeDep
from quan.services.people import citizen_import
from quan.services.people.citizen_import import ImportReport
from quan.store.citizen_tables import citizen_imports
from quan.store.pagination import page

router = APIRouter(tags=["citizens"])

# The API refuses any body over 1 MiB before it is read (app.MAX_BODY_BYTES); this cap also
# holds for chunked uploads, which carry no Content-Length for that check to see.
UPLOAD_LIMIT_BYTES = 1 << 20
CSV_TYPES = frozenset(
    {
        "text/csv",
        "application/csv",
        "text/plain",
        "application/octet-stream",
        "application/vnd.ms-excel",  # what Windows browsers call a .csv file
    }
)

IMPORT_NOT_CSV = define(
    "IMPORT_NOT_CSV",
    Kind.BAD_REQUEST,
    zh="请以 CSV 文件内容作为请求体上传（Content-Type: text/csv），而不是表单",
    en="Send the CSV file itself as the request body (Content-Type: text/csv), not a form",
)

Importer = Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR))]
Reader = Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR, Role.AUDITOR))]


def _public(report: ImportReport) -> ImportReportPublic:
    fields = asdict(report)
    return ImportReportPublic(**fields, truncated=report.truncated)


async def _read_body(request: Request) -> bytes:
    media_type = request.headers.get("content-type", "text/csv").split(";")[0].strip().lower()
    if media_type not in CSV_TYPES:
        raise QuanError(IMPORT_NOT_CSV)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > UPLOAD_LIMIT_BYTES:
            raise HTTPException(413)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/citizens/imports",
    status_code=201,
    response_model=ImportReportPublic,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload(
    request: Request,
    actor: Importer,
    rt: RuntimeDep,
    keys: KeysDep,
    file_name: Annotated[str, Query(max_length=200)] = "upload.csv",
    confirm: Annotated[
        bool, Query(description="Apply a file whose SHA-256 was already imported")
    ] = False,
    dry_run: Annotated[bool, Query(description="Validate and classify; write nothing")] = False,
) -> JSONResponse:
    """Import an eligibility list. Columns (English or Chinese): ``resident_id`` 身份证号,
    ``name`` 姓名, ``region_code`` 行政区划代码 (required); ``phone`` 手机号, ``income_group``
    收入类别 (normal/low_income/subsistence, 一般/低收入/低保), ``disabled`` 是否残疾,
    ``disability_grade`` 残疾等级 (1–4). Valid rows are applied in one transaction; the answer
    lists every invalid row (row, field, code) and every duplicate. 201 when applied, 200 for a
    dry run."""
    data = await _read_body(request)
    report = await run_in_threadpool(
        citizen_import.import_citizens,
        rt.db,
        rt.clock,
        keys,
        actor,
        data=data,
        file_name=file_name,
        confirm=confirm,
        dry_run=dry_run,
        max_bytes=UPLOAD_LIMIT_BYTES,
    )
    return JSONResponse(
        _public(report).model_dump(mode="json"), status_code=200 if dry_run else 201
    )


@router.get("/citizens/imports", response_model=Page[ImportReportPublic])
def list_imports(
    actor: Reader, rt: RuntimeDep, limit: Limit = 50, cursor: str | None = None
) -> Page[ImportReportPublic]:
    """Every applied import, oldest first: the version history of the eligibility lists."""
    with rt.db.read() as tx:
        rows, next_cursor = page(
            tx, select(citizen_imports), citizen_imports.c.id, limit=limit, cursor=cursor
        )
    items = [_public(citizen_import.report_from_row(r)) for r in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/citizens/imports/{import_id}", response_model=ImportReportPublic)
def get_import(import_id: str, actor: Reader, rt: RuntimeDep) -> ImportReportPublic:
    with rt.db.read() as tx:
        return _public(citizen_import.get_import(tx, import_id))
