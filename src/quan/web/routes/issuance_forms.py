"""The voucher type and batch forms: reading them, turning them into the API's request models,
rendering them (to create or to change a draft), and saying their refusals at their fields.

The forms are turned into the API's own request models (``VoucherTypeCreate``, ``BatchCreate``),
so a form is checked exactly like a JSON request and refused with the same codes; the refusals
are said by :mod:`quan.web.refusals` next to the controls they concern.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Form, Request, Response
from pydantic import ValidationError

from quan.api.schemas.batches import BatchCreate
from quan.api.schemas.vouchers import VoucherTypeCreate, VoucherTypePublic
from quan.domain.batches import Allocation
from quan.domain.categories import CATEGORIES
from quan.domain.citizens import IncomeGroup, PriorityGroup
from quan.domain.errors import QuanError
from quan.domain.merchants import Scene
from quan.domain.voucher_types import DiscountKind, ValidityPreset
from quan.edge.status import STATUS
from quan.services.issuance import voucher_types
from quan.services.runtime import Runtime
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import FormErrors, Locator, from_refusal, from_validation
from quan.web.routes.common import parse_yuan, staff_context
from quan.web.routes.issuance_fields import (
    BATCH_CODES,
    batch_fields,
    quota_field,
)
from quan.web.templating import render

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


def refused(
    request: Request,
    exc: ValidationError | QuanError,
    zone: str,
    fields: Locator,
    codes: Mapping[str, str],
) -> FormErrors:
    """The refusal as sentences next to the form's fields."""
    t = Translator(request_lang(request))
    if isinstance(exc, ValidationError):
        return from_validation(exc, t, fields)
    return from_refusal(exc, t, zone, fields, attach=codes.get(exc.code))


def status_of(exc: ValidationError | QuanError) -> int:
    """The status a refused form is answered with: the API's for a domain refusal."""
    return STATUS.get(exc.kind, 422) if isinstance(exc, QuanError) else 422


def _money(text: str) -> int | str | None:
    """Fen from a yuan field; the raw text when it is not an amount (the model refuses it)."""
    if not text.strip():
        return None
    fen = parse_yuan(text)
    return text if fen is None else fen


def _int(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() else text


def _local(text: str, zone: str) -> datetime | str:
    try:
        return datetime.strptime(text.strip(), LOCAL_INPUT).replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        return text


def _yuan_text(fen: int | None) -> str:
    """Fen as the form shows it: ``3000`` → ``"30"``, ``1250`` → ``"12.50"``."""
    if fen is None:
        return ""
    whole, cents = divmod(fen, 100)
    return f"{whole}" if not cents else f"{whole}.{cents:02d}"


# --- voucher types ---------------------------------------------------------------------------


def type_values(
    name: Annotated[str, Form(max_length=100)] = "",
    kind: Annotated[str, Form(max_length=20)] = "fixed",
    face_value: Annotated[str, Form(max_length=20)] = "",
    min_spend: Annotated[str, Form(max_length=20)] = "",
    percent_off: Annotated[str, Form(max_length=5)] = "",
    cap: Annotated[str, Form(max_length=20)] = "",
    categories: Annotated[list[str] | None, Form()] = None,
    scenes: Annotated[list[str] | None, Form()] = None,
    validity_preset: Annotated[str, Form(max_length=20)] = "",
    valid_days: Annotated[str, Form(max_length=5)] = "",
    max_per_order: Annotated[str, Form(max_length=3)] = "1",
    form_key: Annotated[str, Form(max_length=64)] = "",
) -> dict[str, Any]:
    """The voucher type form as typed (a dependency, shared by creating and changing)."""
    return {
        "form_key": form_key,
        "name": name,
        "kind": kind,
        "face_value": face_value,
        "min_spend": min_spend,
        "percent_off": percent_off,
        "cap": cap,
        "categories": categories or [],
        "scenes": scenes or [],
        "validity_preset": validity_preset,
        "valid_days": valid_days,
        "max_per_order": max_per_order,
    }


def type_definition(values: dict[str, Any]) -> dict[str, Any]:
    """The form as the API's definition (``VoucherTypeCreate``; raises ``ValidationError``)."""
    fixed = values["kind"] == DiscountKind.FIXED.value
    days = str(values["valid_days"])
    body: dict[str, Any] = {
        "name": str(values["name"]).strip(),
        "kind": values["kind"],
        "face_value_fen": _money(values["face_value"]) if fixed else None,
        "min_spend_fen": _money(values["min_spend"]) or 0,
        "percent_off": None if fixed else _int(values["percent_off"]),
        "cap_fen": None if fixed else _money(values["cap"]),
        "categories": values["categories"],
        "scenes": values["scenes"],
        "validity_preset": values["validity_preset"] or None if not days.strip() else None,
        "valid_days": _int(days),
        "max_per_order": _int(values["max_per_order"]) or 1,
    }
    model = VoucherTypeCreate.model_validate({k: v for k, v in body.items() if v is not None})
    return model.model_dump(mode="json", exclude_none=True)


def type_values_of(vt: VoucherTypePublic, form_key: str) -> dict[str, Any]:
    """A stored type as the form shows it (to change a draft)."""
    return {
        "form_key": form_key,
        "name": vt.name,
        "kind": vt.kind.value,
        "face_value": _yuan_text(vt.face_value_fen),
        "min_spend": _yuan_text(vt.min_spend_fen),
        "percent_off": "" if vt.percent_off is None else str(vt.percent_off),
        "cap": _yuan_text(vt.cap_fen),
        "categories": vt.categories,
        "scenes": [s.value for s in vt.scenes],
        "validity_preset": vt.validity_preset.value if vt.validity_preset else "",
        "valid_days": "" if vt.validity_preset or vt.valid_days is None else str(vt.valid_days),
        "max_per_order": str(vt.max_per_order),
    }


def type_form(
    request: Request,
    actor: Any,
    program: Any,
    values: dict[str, Any],
    errors: FormErrors | None,
    status_code: int = 200,
    *,
    editing: str | None = None,
) -> Response:
    """The voucher type form; ``editing`` is the id of the draft type being changed."""
    action = (
        f"/ops/voucher-types/{editing}/edit"
        if editing
        else f"/ops/programs/{program.id}/voucher-types"
    )
    return render(
        request,
        "ops/voucher_type_new.html",
        staff_context(
            actor,
            program=program,
            values=values,
            errors=errors,
            action=action,
            editing=editing,
            categories=list(CATEGORIES.values()),
            scenes=list(Scene),
            presets=list(ValidityPreset),
        ),
        status_code=status_code,
    )


# --- batches ---------------------------------------------------------------------------------


def batch_refused(
    request: Request, exc: ValidationError | QuanError, zone: str, values: dict[str, Any]
) -> FormErrors:
    rows = values["reserved"]
    fields = batch_fields([g for g, row in rows.items() if row["quantity"].strip()])
    refusal = quota_field(exc) if isinstance(exc, QuanError) else exc
    return refused(request, refusal, zone, fields, BATCH_CODES)


def eligibility_rule(
    regions: str, min_age: str, max_age: str, income_groups: list[str]
) -> dict[str, Any] | None:
    """The simple rule the form can express: all of region, age range and income groups."""
    parts: list[dict[str, Any]] = []
    codes = [c for c in regions.replace("，", ",").replace(",", " ").split() if c]
    if codes:
        parts.append({"region_in": codes})
    age: dict[str, Any] = {}
    for key, text in (("min", min_age), ("max", max_age)):
        value = _int(text)
        if value is not None:
            age[key] = value
    if age:
        parts.append({"age_between": age})
    if income_groups:
        parts.append({"income_group_in": income_groups})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"all": parts}


def reserve_rows(
    groups: list[str] | None,
    quantities: list[str] | None,
    releases: list[str] | None,
    tickets: list[str] | None,
) -> dict[str, dict[str, str]]:
    """The form's reserved-quota rows, one per priority group (a blank quantity: no reserve)."""
    rows = {
        g.value: {"group": g.value, "quantity": "", "release_at": "", "tickets": "1"}
        for g in PriorityGroup
    }
    for group, quantity, release, count in zip(
        groups or [], quantities or [], releases or [], tickets or [], strict=False
    ):
        if group in rows:
            rows[group] = {
                "group": group,
                "quantity": quantity,
                "release_at": release,
                "tickets": count,
            }
    return rows


def batch_values(
    voucher_type_id: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
    quantity: Annotated[str, Form(max_length=10)] = "",
    allocation: Annotated[str, Form(max_length=20)] = "fcfs",
    claim_opens_at: Annotated[str, Form(max_length=30)] = "",
    claim_closes_at: Annotated[str, Form(max_length=30)] = "",
    per_citizen_limit: Annotated[str, Form(max_length=3)] = "1",
    regions: Annotated[str, Form(max_length=2000)] = "",
    min_age: Annotated[str, Form(max_length=3)] = "",
    max_age: Annotated[str, Form(max_length=3)] = "",
    income_groups: Annotated[list[str] | None, Form()] = None,
    reserve_group: Annotated[list[str] | None, Form()] = None,
    reserve_quantity: Annotated[list[str] | None, Form()] = None,
    reserve_release: Annotated[list[str] | None, Form()] = None,
    reserve_tickets: Annotated[list[str] | None, Form()] = None,
    form_key: Annotated[str, Form(max_length=64)] = "",
) -> dict[str, Any]:
    """The batch form as typed (a dependency, shared by creating and changing)."""
    return {
        "form_key": form_key,
        "voucher_type_id": voucher_type_id,
        "name": name,
        "quantity": quantity,
        "allocation": allocation,
        "claim_opens_at": claim_opens_at,
        "claim_closes_at": claim_closes_at,
        "per_citizen_limit": per_citizen_limit,
        "regions": regions,
        "min_age": min_age,
        "max_age": max_age,
        "income_groups": income_groups or [],
        "reserved": reserve_rows(reserve_group, reserve_quantity, reserve_release, reserve_tickets),
    }


def batch_request(values: dict[str, Any], zone: str) -> BatchCreate:
    """The form as the API's ``BatchCreate`` (raises ``ValidationError``); times are local."""
    body = {
        "voucher_type_id": values["voucher_type_id"],
        "name": str(values["name"]).strip(),
        "quantity": _int(values["quantity"]),
        "allocation": values["allocation"],
        "claim_opens_at": _local(values["claim_opens_at"], zone),
        "claim_closes_at": _local(values["claim_closes_at"], zone),
        "per_citizen_limit": _int(values["per_citizen_limit"]) or 1,
        "eligibility": eligibility_rule(
            values["regions"], values["min_age"], values["max_age"], values["income_groups"]
        ),
        "reserved": [
            {
                "group": row["group"],
                "quantity": _int(row["quantity"]),
                "release_at": _local(row["release_at"], zone),
                "tickets": _int(row["tickets"]) or 1,
            }
            for row in values["reserved"].values()
            if row["quantity"].strip()
        ],
    }
    return BatchCreate.model_validate({k: v for k, v in body.items() if v is not None})


def batch_form(
    request: Request,
    actor: Any,
    program: Any,
    values: dict[str, Any],
    errors: FormErrors | None,
    rt: Runtime,
    status_code: int = 200,
    *,
    editing: str | None = None,
    available_fen: int | None = None,
) -> Response:
    """The batch form; ``editing`` is the id of the draft being changed."""
    with rt.db.read() as tx:
        found, _ = voucher_types.list_for_program(tx, actor, program.id, limit=200, cursor=None)
    types = [VoucherTypePublic.of(vt) for vt in found]
    action = f"/ops/batches/{editing}/edit" if editing else f"/ops/programs/{program.id}/batches"
    return render(
        request,
        "ops/batch_new.html",
        staff_context(
            actor,
            program=program,
            values=values,
            errors=errors,
            voucher_types=types,
            allocations=list(Allocation),
            income_groups=list(IncomeGroup),
            action=action,
            editing=editing,
            available_fen=available_fen,
        ),
        status_code=status_code,
    )
