"""Offline redemption: the public keys terminals verify tokens with, syncing offline records, and
the double-spend cases a sync flags."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from quan.api.schemas.common import Limit, Page
from quan.api.schemas.redemptions import (
    CasePublic,
    CaseResolve,
    OfflineKeysPublic,
    OfflineSyncCreate,
    OfflineSyncPublic,
)
from quan.domain.auth import Actor, PartnerRole
from quan.domain.categories import check_categories
from quan.domain.order_details import check_details, check_order_ref
from quan.edge.deps import (
    PUBLIC,
    Allow,
    IdempotencyHeader,
    OperatorOrAdmin,
    RuntimeDep,
    StaffReader,
    idempotency_key,
)
from quan.services import idempotency
from quan.services.merchants.offline_keys import offline_key
from quan.services.redemption import offline_cases, offline_sync, redemption
from quan.store.pagination import page
from quan.store.redemption_tables import offline_cases as cases_table

router = APIRouter(tags=["redemption"])

TerminalOnly = Annotated[Actor, Depends(Allow(PartnerRole.TERMINAL))]


@router.get("/offline/keys", response_model=OfflineKeysPublic, dependencies=[Depends(PUBLIC)])
def keys(rt: RuntimeDep) -> OfflineKeysPublic:
    """The Ed25519 public keys offline voucher tokens are signed with. Terminals keep them and
    verify tokens with no network (see docs/offline-tokens.md)."""
    return OfflineKeysPublic.model_validate(offline_key(rt.settings).document())


@router.post("/offline-redemptions", response_model=OfflineSyncPublic)
def sync(
    body: OfflineSyncCreate,
    actor: TerminalOnly,
    rt: RuntimeDep,
    request: Request,
    idempotency_key_header: IdempotencyHeader = None,
) -> JSONResponse:
    """Sync redemptions this terminal recorded offline. Every record is judged again and kept;
    each answer says ``accepted`` (with the redemption), ``duplicate`` (the voucher was spent
    first elsewhere: a case is flagged) or ``rejected`` (with the failing rule). Sending a batch
    again is harmless: known records get their first answer (``replayed``)."""
    records = []
    for r in body.records:
        check_categories([r.category])
        records.append(
            offline_sync.SyncRecord(
                record_id=r.record_id,
                token=r.token,
                order_amount_fen=r.order_amount_fen,
                category=r.category,
                scene=r.scene,
                redeemed_at=r.redeemed_at,
                order_ref=check_order_ref(r.order_ref),
                details=check_details(r.metadata),
            )
        )
    keyring = offline_key(rt.settings).keyring

    def work(tx: Connection) -> offline_sync.SyncReport:
        redemption.begin_recording(tx)
        return offline_sync.sync(tx, rt.clock.now(), actor, keyring, records)

    outcome = idempotency.run(
        rt.db,
        rt.clock,
        idempotency_key(actor, idempotency_key_header, request, body.model_dump(mode="json")),
        work,
        lambda report: (200, OfflineSyncPublic.of(report).model_dump(mode="json")),
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


@router.get("/programs/{program_id}/offline-cases", response_model=Page[CasePublic])
def list_cases(
    program_id: str,
    actor: StaffReader,
    rt: RuntimeDep,
    status: Literal["open", "resolved"] | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[CasePublic]:
    """Offline double spends found at sync, oldest first; ``?status=open`` for those holding
    money."""
    with rt.db.read() as tx:
        query = offline_cases.cases_query(tx, actor, program_id, status)
        rows, next_cursor = page(tx, query, cases_table.c.id, limit=limit, cursor=cursor)
        items = offline_cases.load(tx, list(rows))
    return Page(items=[CasePublic.of(c) for c in items], next_cursor=next_cursor)


@router.post("/offline-cases/{case_id}/resolve", response_model=CasePublic)
def resolve_case(
    case_id: str, body: CaseResolve, actor: OperatorOrAdmin, rt: RuntimeDep
) -> CasePublic:
    """Close a case (``cleared`` or ``fraud_confirmed``) with a note; its hold ends with the
    next settlement. For confirmed abuse, blacklist the merchant: that holds all its money."""
    with rt.db.write() as tx:
        case = offline_cases.resolve(tx, rt.clock.now(), actor, case_id, body.resolution, body.note)
    return CasePublic.of(case)
