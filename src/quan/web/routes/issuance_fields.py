"""The voucher type and batch forms' fields: each API model field's form control and label (so
a refusal is said next to the right control with the right words), and which control a refusal
that names no field concerns."""

from __future__ import annotations

from typing import Final

from quan.domain.errors import QuanError
from quan.web.refusals import Field

# The API model's fields as the form shows them (refusals are said with these labels).
TYPE_FIELDS: Final = {
    "name": Field("name", "types.name"),
    "kind": Field("kind", "types.kind"),
    "face_value_fen": Field("face_value", "types.face_value", money=True),
    "min_spend_fen": Field("min_spend", "types.min_spend", money=True),
    "percent_off": Field("percent_off", "types.percent_off"),
    "cap_fen": Field("cap", "types.cap", money=True),
    "categories": Field("categories", "types.categories"),
    "scenes": Field("scenes", "types.scenes"),
    "validity_preset": Field("validity_preset", "types.validity_preset"),
    "valid_days": Field("valid_days", "types.valid_days"),
    "max_per_order": Field("max_per_order", "types.max_per_order"),
}
# Refusals that name no field, and the form control they concern.
TYPE_CODES: Final = {
    "MIN_SPEND_BELOW_FACE_VALUE": "min_spend",
    "VOUCHER_CATEGORY_REQUIRED": "categories",
    "UNKNOWN_CATEGORY": "categories",
    "VOUCHER_SCENE_REQUIRED": "scenes",
    "INVALID_VALIDITY": "valid_days",
    "INVALID_MAX_PER_ORDER": "max_per_order",
    "INVALID_VOUCHER_TYPE_NAME": "name",
    "INVALID_NAME": "name",
}
BATCH_FIELDS: Final = {
    "voucher_type_id": Field("voucher_type_id", "batches.voucher_type"),
    "name": Field("name", "batches.name"),
    "quantity": Field("quantity", "batches.quantity"),
    "allocation": Field("allocation", "batches.allocation"),
    "claim_opens_at": Field("claim_opens_at", "batches.opens_at"),
    "claim_closes_at": Field("claim_closes_at", "batches.closes_at"),
    "per_citizen_limit": Field("per_citizen_limit", "batches.per_citizen_limit"),
    "eligibility": Field("regions", "batches.eligibility"),
}
BATCH_CODES: Final = {
    "INVALID_ELIGIBILITY_RULE": "regions",
    "INVALID_NAME": "name",
    "BATCH_ALLOCATION_FIXED": "allocation",
}
# An INVALID_QUOTA reason → the control of the row it concerns.
QUOTA_REASONS: Final = {
    "release_within_window": "release_at",
    "tickets_only_in_lotteries": "tickets",
    "opens_no_later_than_batch": "release_at",
}


def batch_fields(groups: list[str]) -> dict[str, Field]:
    """The batch form's fields, the reserved rows included (``reserved.0.quantity`` is the
    first row with a quantity)."""
    fields = dict(BATCH_FIELDS)
    controls = {
        "quantity": "batches.reserve_quantity",
        "release_at": "batches.reserve_release",
        "tickets": "batches.reserve_tickets",
    }
    for i, group in enumerate(groups):
        for key, label in controls.items():
            name = f"reserve_{'release' if key == 'release_at' else key}-{group}"
            fields[f"reserved.{i}.{key}"] = Field(name, label, prefix=f"pool.{group}")
        fields[f"reserved.{i}"] = fields[f"reserved.{i}.quantity"]
    if groups:
        fields["reserved"] = fields["reserved.0.quantity"]
    return fields


def quota_field(exc: QuanError) -> QuanError:
    """``INVALID_QUOTA`` names the row; the reason tells which of its controls is wrong."""
    sub = QUOTA_REASONS.get(str(exc.params.get("reason")))
    if exc.code != "INVALID_QUOTA" or sub is None or "field" not in exc.params:
        return exc
    return QuanError(exc.spec, **{**exc.params, "field": f"{exc.params['field']}.{sub}"})
