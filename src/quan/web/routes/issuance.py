"""Voucher types and batches in the operator console: define them, open and close batches.

The forms (:mod:`quan.web.routes.issuance_forms`) are turned into the API's own request models
and handed to the same use cases as the API's, so a form is checked exactly like a JSON request
and refused with the same codes — said in words next to the field. Each create form carries an
idempotency key (:mod:`quan.web.once`): a double click creates one. Opening a batch moves money;
it runs the same service call as ``POST /batches/{id}/open``. Changing and deleting drafts, and
closing a batch to release its money, are in :mod:`quan.web.routes.drafts`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request, Response
from pydantic import ValidationError

from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep
from quan.services.issuance import batches, voucher_types
from quan.services.money import programs
from quan.store import ledger
from quan.web.once import create_once, new_key
from quan.web.routes.common import OperatorPage, console_router
from quan.web.routes.issuance_fields import TYPE_CODES, TYPE_FIELDS
from quan.web.routes.issuance_forms import (
    LOCAL_INPUT,
    batch_form,
    batch_refused,
    batch_request,
    batch_values,
    refused,
    reserve_rows,
    status_of,
    type_definition,
    type_form,
    type_values,
)
from quan.web.routing import redirect

router = console_router()

TypeValues = Annotated[dict[str, Any], Depends(type_values)]
BatchValues = Annotated[dict[str, Any], Depends(batch_values)]


@router.get("/ops/programs/{program_id}/voucher-types/new")
def new_voucher_type(program_id: str, request: Request, actor: OperatorPage,
                     rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        program = programs.visible_program(tx, actor, program_id)
    values = {"form_key": new_key(), "kind": "fixed", "min_spend": "0", "scenes": ["offline"],
              "categories": [], "validity_preset": "short", "max_per_order": "1"}
    return type_form(request, actor, program, values, None)


@router.post("/ops/programs/{program_id}/voucher-types")
def create_voucher_type(program_id: str, request: Request, actor: OperatorPage,
                        rt: RuntimeDep, values: TypeValues) -> Response:
    try:
        definition = type_definition(values)
        create_once(
            rt, actor, request, values["form_key"], definition,
            lambda tx: voucher_types.create_voucher_type(
                tx, rt.clock.now(), actor, program_id, definition
            ),
            lambda vt: {"id": vt.id},
        )
    except (ValidationError, QuanError) as exc:
        with rt.db.read() as tx:
            program = programs.visible_program(tx, actor, program_id)
        errors = refused(request, exc, program.timezone, TYPE_FIELDS, TYPE_CODES)
        return type_form(request, actor, program, values, errors, status_of(exc))
    return redirect(request, f"/ops/programs/{program_id}?done=type_created")


@router.get("/ops/programs/{program_id}/batches/new")
def new_batch(program_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        program = programs.visible_program(tx, actor, program_id)
        available = ledger.budget(tx, program_id).available_fen
    zone = ZoneInfo(program.timezone)
    start = rt.clock.now().astimezone(zone).replace(second=0, microsecond=0)
    values = {
        "form_key": new_key(), "allocation": "fcfs", "quantity": "100",
        "per_citizen_limit": "1", "claim_opens_at": start.strftime(LOCAL_INPUT),
        "claim_closes_at": (start + timedelta(days=7)).strftime(LOCAL_INPUT),
        "income_groups": [], "regions": "", "min_age": "", "max_age": "", "name": "",
        "voucher_type_id": "", "reserved": reserve_rows(None, None, None, None),
    }
    return batch_form(request, actor, program, values, None, rt, available_fen=available)


@router.post("/ops/programs/{program_id}/batches")
def create_batch(program_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep,
                 values: BatchValues) -> Response:
    with rt.db.read() as tx:
        program = programs.visible_program(tx, actor, program_id)
    try:
        model = batch_request(values, program.timezone)
        create_once(
            rt, actor, request, values["form_key"], model.model_dump(mode="json"),
            lambda tx: batches.create_batch(
                tx, rt.clock.now(), actor, model.command(program_id), settings=rt.settings
            ),
            lambda made: {"id": made.id},
        )
    except (ValidationError, QuanError) as exc:
        errors = batch_refused(request, exc, program.timezone, values)
        return batch_form(request, actor, program, values, errors, rt, status_of(exc))
    return redirect(request, f"/ops/programs/{program_id}?done=batch_created")


@router.post("/ops/batches/{batch_id}/open")
def open_batch(batch_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    """Reserve the batch's money and generate its vouchers (as ``POST /batches/{id}/open``)."""
    with rt.db.write() as tx:
        batch = batches.open_batch(tx, rt.clock.now(), actor, batch_id)
    return redirect(request, f"/ops/programs/{batch.program_id}?done=batch_opened")


@router.post("/ops/batches/{batch_id}/close")
def close_batch(batch_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    with rt.db.write() as tx:
        batch = batches.close_batch(tx, rt.clock.now(), actor, batch_id)
    return redirect(request, f"/ops/programs/{batch.program_id}?done=batch_closed")
