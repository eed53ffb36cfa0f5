"""Changing and deleting drafts, and closing a batch to release its money, in the console.

A voucher type no batch uses, and a batch still in ``draft``, can be changed (the same form as
to create them, checked the same way) or deleted; a batch that has issued what it will issue —
sold out, or a lottery after its draw — is closed and its unclaimed vouchers' money returned to
the available budget at once (:mod:`quan.services.issuance.drafts`). Deleting and releasing
cannot be undone, so each first shows a page that says what will happen, with the money in
yuan, and asks to confirm.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy import func, select

from quan.api.schemas.vouchers import VoucherTypePublic
from quan.domain.batches import BatchStatus
from quan.domain.errors import QuanError
from quan.edge.deps import RuntimeDep
from quan.services.issuance import batches, drafts, voucher_types
from quan.services.money import programs
from quan.store import ledger
from quan.store.voucher_tables import status_is, vouchers
from quan.web.once import new_key
from quan.web.routes.common import OperatorPage, batch_public, console_router, staff_context
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
    type_values_of,
)
from quan.web.routing import redirect
from quan.web.templating import localtime, render, yuan

router = console_router()

TypeValues = Annotated[dict[str, Any], Depends(type_values)]
BatchValues = Annotated[dict[str, Any], Depends(batch_values)]


# --- voucher types ---------------------------------------------------------------------------


@router.get("/ops/voucher-types/{voucher_type_id}/edit")
def edit_type_page(
    voucher_type_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep
) -> Response:
    with rt.db.read() as tx:
        vt = VoucherTypePublic.of(voucher_types.visible_voucher_type(tx, actor, voucher_type_id))
        program = programs.visible_program(tx, actor, vt.program_id)
    values = type_values_of(vt, new_key())
    return type_form(request, actor, program, values, None, editing=vt.id)


@router.post("/ops/voucher-types/{voucher_type_id}/edit")
def edit_type(
    voucher_type_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep, values: TypeValues
) -> Response:
    with rt.db.read() as tx:
        vt = voucher_types.visible_voucher_type(tx, actor, voucher_type_id)
        program = programs.visible_program(tx, actor, vt.program_id)
    try:
        definition = type_definition(values)
        with rt.db.write() as tx:
            drafts.update_voucher_type(tx, rt.clock.now(), actor, voucher_type_id, definition)
    except (ValidationError, QuanError) as exc:
        errors = refused(request, exc, program.timezone, TYPE_FIELDS, TYPE_CODES)
        return type_form(request, actor, program, values, errors, status_of(exc), editing=vt.id)
    return redirect(request, f"/ops/programs/{program.id}?done=type_saved")


@router.get("/ops/voucher-types/{voucher_type_id}/delete")
def delete_type_page(
    voucher_type_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep
) -> Response:
    with rt.db.read() as tx:
        vt = voucher_types.visible_voucher_type(tx, actor, voucher_type_id)
        program = programs.visible_program(tx, actor, vt.program_id)
    return _confirm(
        request,
        actor,
        program,
        title="drafts.delete_type_title",
        says=[("drafts.delete_type_says", {"name": vt.spec.name})],
        action=f"/ops/voucher-types/{vt.id}/delete",
        button="drafts.delete",
    )


@router.post("/ops/voucher-types/{voucher_type_id}/delete")
def delete_type(
    voucher_type_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep
) -> Response:
    with rt.db.write() as tx:
        program_id = drafts.delete_voucher_type(tx, rt.clock.now(), actor, voucher_type_id)
    return redirect(request, f"/ops/programs/{program_id}?done=type_deleted")


# --- batches ---------------------------------------------------------------------------------


def _batch_values_of(batch: batches.Batch, zone: str, form_key: str) -> dict[str, Any]:
    """A draft as the batch form shows it."""
    r = batch.rules
    return {
        "form_key": form_key,
        "voucher_type_id": batch.voucher_type_id,
        "name": batch.name,
        "quantity": str(r.quantity),
        "allocation": r.allocation.value,
        "claim_opens_at": localtime(r.claim_opens_at, zone, LOCAL_INPUT),
        "claim_closes_at": localtime(r.claim_closes_at, zone, LOCAL_INPUT),
        "per_citizen_limit": str(r.per_citizen_limit),
        "reserved": reserve_rows(
            [q.group.value for q in r.quotas],
            [str(q.quantity) for q in r.quotas],
            [localtime(q.release_at, zone, LOCAL_INPUT) for q in r.quotas],
            [str(q.tickets) for q in r.quotas],
        ),
        "needed_fen": r.quantity * batch.unit_fen,
    }


def _rule_parts(rule: Any) -> dict[str, Any]:
    """The form's eligibility fields from a rule the form can express (region, ages, income)."""
    parts: dict[str, Any] = {"regions": "", "min_age": "", "max_age": "", "income_groups": []}
    nodes = rule.get("all", [rule]) if isinstance(rule, dict) and rule else []
    for node in nodes:
        if "region_in" in node:
            parts["regions"] = " ".join(node["region_in"])
        elif "age_between" in node:
            ages = node["age_between"]
            parts["min_age"] = str(ages.get("min", ""))
            parts["max_age"] = str(ages.get("max", ""))
        elif "income_group_in" in node:
            parts["income_groups"] = list(node["income_group_in"])
    return parts


def _draft_context(rt: Any, actor: Any, batch_id: str) -> tuple[Any, Any, int, dict[str, Any]]:
    with rt.db.read() as tx:
        batch = batches.visible_batch(tx, actor, batch_id)
        program = programs.visible_program(tx, actor, batch.program_id)
        available = ledger.budget(tx, program.id).available_fen
        eligibility = batch_public(tx, batch).eligibility
    return batch, program, available, eligibility


@router.get("/ops/batches/{batch_id}/edit")
def edit_batch_page(
    batch_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep
) -> Response:
    batch, program, available, eligibility = _draft_context(rt, actor, batch_id)
    if batch.status is not BatchStatus.DRAFT:
        raise QuanError(drafts.BATCH_NOT_DRAFT, batch_status=batch.status.value)
    values = _batch_values_of(batch, program.timezone, new_key())
    values.update(_rule_parts(eligibility))
    return batch_form(
        request, actor, program, values, None, rt, editing=batch.id, available_fen=available
    )


@router.post("/ops/batches/{batch_id}/edit")
def edit_batch(
    batch_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep, values: BatchValues
) -> Response:
    batch, program, available, _ = _draft_context(rt, actor, batch_id)
    try:
        model = batch_request(values, program.timezone)
        with rt.db.write() as tx:
            drafts.update_batch(tx, rt.clock.now(), actor, batch_id, model.command(program.id))
    except (ValidationError, QuanError) as exc:
        errors = batch_refused(request, exc, program.timezone, values)
        return batch_form(
            request,
            actor,
            program,
            values,
            errors,
            rt,
            status_of(exc),
            editing=batch.id,
            available_fen=available,
        )
    return redirect(request, f"/ops/programs/{program.id}?done=batch_saved")


@router.get("/ops/batches/{batch_id}/delete")
def delete_batch_page(
    batch_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep
) -> Response:
    batch, program, _, _ = _draft_context(rt, actor, batch_id)
    return _confirm(
        request,
        actor,
        program,
        title="drafts.delete_batch_title",
        says=[("drafts.delete_batch_says", {"name": batch.name or batch.id})],
        action=f"/ops/batches/{batch.id}/delete",
        button="drafts.delete",
    )


@router.post("/ops/batches/{batch_id}/delete")
def delete_batch(batch_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    with rt.db.write() as tx:
        program_id = drafts.delete_batch(tx, rt.clock.now(), actor, batch_id)
    return redirect(request, f"/ops/programs/{program_id}?done=batch_deleted")


@router.get("/ops/batches/{batch_id}/release")
def release_page(batch_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    """What closing and releasing would do: how many vouchers, how much money, where it goes."""
    batch, program, _, _ = _draft_context(rt, actor, batch_id)
    with rt.db.read() as tx:
        unclaimed = int(
            tx.execute(
                select(func.count()).where(vouchers.c.batch_id == batch.id, status_is("unclaimed"))
            ).scalar_one()
        )
    says = [
        (
            "drafts.release_says",
            {
                "name": batch.name or batch.id,
                "count": f"{unclaimed:,}",
                "amount": yuan(unclaimed * batch.unit_fen),
            },
        ),
        ("drafts.release_claimed", {}),
    ]
    return _confirm(
        request,
        actor,
        program,
        title="drafts.release_title",
        says=says,
        action=f"/ops/batches/{batch.id}/release",
        button="drafts.release",
    )


@router.post("/ops/batches/{batch_id}/release")
def release(batch_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep) -> Response:
    with rt.db.write() as tx:
        drafts.close_and_release(tx, rt.clock.now(), actor, batch_id)
        program_id = batches.get_batch(tx, batch_id).program_id
    return redirect(request, f"/ops/programs/{program_id}?done=batch_released")


def _confirm(
    request: Request,
    actor: Any,
    program: Any,
    *,
    title: str,
    says: list[tuple[str, dict[str, str]]],
    action: str,
    button: str,
) -> Response:
    """A page that says what an irreversible action will do and asks to confirm it."""
    return render(
        request,
        "ops/confirm.html",
        staff_context(actor, program=program, title=title, says=says, action=action, button=button),
    )
