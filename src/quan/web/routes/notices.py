"""The announcement pages: write a notice for a program, preview it, submit it; approve or
reject another person's mass notice (with a reason); follow its sending progress.

Every write calls :mod:`quan.services.delivery.announcements`, as ``POST /programs/{id}/
announcements`` and ``/announcements/{id}/approve|reject`` do. The write form carries an
idempotency key drawn when the page was shown, so a second click answers the same notice.
"""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any

from fastapi import Form, Request, Response
from sqlalchemy import select

from quan.domain.auth import Actor
from quan.domain.eligibility import INVALID_ELIGIBILITY_RULE
from quan.domain.errors import QuanError
from quan.domain.notices import BODY_MAX, TITLE_MAX
from quan.edge.deps import RuntimeDep
from quan.services.delivery import announcement_queries as queries
from quan.services.delivery import announcements
from quan.services.money import programs
from quan.store.voucher_tables import batches, voucher_types
from quan.web.routes.common import (
    OperatorPage,
    StaffPage,
    can_operate,
    console_router,
    staff_context,
)
from quan.web.routing import redirect
from quan.web.templating import render

router = console_router()

Title = Annotated[str, Form(min_length=1, max_length=TITLE_MAX)]
Body = Annotated[str, Form(min_length=1, max_length=BODY_MAX)]


def _choices(rt: RuntimeDep, program_id: str) -> dict[str, list[tuple[str, str]]]:
    with rt.db.read() as tx:
        return {
            "batch": [
                (r.id, r.name or r.id)
                for r in tx.execute(
                    select(batches.c.id, batches.c.name)
                    .where(batches.c.program_id == program_id)
                    .order_by(batches.c.id)
                )
            ],
            "voucher_type": [
                (r.id, r.name)
                for r in tx.execute(
                    select(voucher_types.c.id, voucher_types.c.name)
                    .where(voucher_types.c.program_id == program_id)
                    .order_by(voucher_types.c.id)
                )
            ],
        }


def _page(
    request: Request,
    rt: RuntimeDep,
    actor: Actor,
    program_id: str,
    form: dict[str, Any] | None = None,
    preview: announcements.Preview | None = None,
) -> Response:
    with rt.db.read() as tx:
        program = programs.get_program(tx, program_id)
        listed = queries.for_program(tx, actor, program_id)
    return render(
        request,
        "ops/announcements.html",
        staff_context(
            actor,
            program=program,
            notices=listed,
            operate=can_operate(actor),
            choices=_choices(rt, program_id),
            form=form or _form("program", "", "", "", "", "", "", ""),
            preview=preview,
            notice_key=secrets.token_urlsafe(16),
            threshold=rt.settings.announcement_approval_threshold,
            rate=rt.settings.announcement_rate_per_second,
        ),
    )


@router.get("/ops/programs/{program_id}/announcements")
def program_notices(
    program_id: str, request: Request, actor: StaffPage, rt: RuntimeDep
) -> Response:
    return _page(request, rt, actor, program_id)


def _draft(program_id: str, form: dict[str, Any]) -> announcements.Draft:
    segment = None
    if form["audience"] == "segment" and form["segment"].strip():
        try:
            segment = json.loads(form["segment"])
        except ValueError as exc:
            raise QuanError(INVALID_ELIGIBILITY_RULE, path="$", reason="not JSON") from exc
    return announcements.Draft(
        program_id=program_id,
        audience=form["audience"],
        audience_ref=form["audience_ref"] or None,
        segment=segment,
        title_zh=form["title_zh"],
        title_en=form["title_en"],
        body_zh=form["body_zh"],
        body_en=form["body_en"],
        public=form["public"],
    )


def _form(
    audience: str,
    audience_ref: str,
    segment: str,
    title_zh: str,
    title_en: str,
    body_zh: str,
    body_en: str,
    public: str,
) -> dict[str, Any]:
    if audience not in ("program", "batch", "voucher_type", "segment"):
        audience = "program"
    return {
        "audience": audience,
        "audience_ref": audience_ref.strip(),
        "segment": segment,
        "title_zh": title_zh.strip(),
        "title_en": title_en.strip(),
        "body_zh": body_zh.strip(),
        "body_en": body_en.strip(),
        "public": public == "on",
    }


@router.post("/ops/programs/{program_id}/announcements/preview")
def preview_notice(
    program_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    title_zh: Title,
    title_en: Title,
    body_zh: Body,
    body_en: Body,
    audience: Annotated[str, Form(max_length=20)] = "program",
    audience_ref: Annotated[str, Form(max_length=64)] = "",
    segment: Annotated[str, Form(max_length=4000)] = "",
    public: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Count and render without writing anything; the page keeps what was typed."""
    form = _form(audience, audience_ref, segment, title_zh, title_en, body_zh, body_en, public)
    with rt.db.read() as tx:
        seen = announcements.preview(
            tx,
            rt.clock.now(),
            actor,
            _draft(program_id, form),
            threshold=rt.settings.announcement_approval_threshold,
        )
    return _page(request, rt, actor, program_id, form, seen)


@router.post("/ops/programs/{program_id}/announcements")
def submit_notice(
    program_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    title_zh: Title,
    title_en: Title,
    body_zh: Body,
    body_en: Body,
    notice_key: Annotated[str, Form(min_length=8, max_length=64)],
    audience: Annotated[str, Form(max_length=20)] = "program",
    audience_ref: Annotated[str, Form(max_length=64)] = "",
    segment: Annotated[str, Form(max_length=4000)] = "",
    public: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    form = _form(audience, audience_ref, segment, title_zh, title_en, body_zh, body_en, public)
    with rt.db.write() as tx:
        made = announcements.create(
            tx,
            rt.clock.now(),
            actor,
            _draft(program_id, form),
            threshold=rt.settings.announcement_approval_threshold,
            idempotency_key=f"console-{notice_key}",
        )
    return redirect(request, f"/ops/announcements/{made.id}")


@router.get("/ops/announcements")
def pending_notices(request: Request, actor: StaffPage, rt: RuntimeDep) -> Response:
    with rt.db.read() as tx:
        waiting = queries.pending(tx, actor)
    return render(request, "ops/announcements_pending.html", staff_context(actor, notices=waiting))


@router.get("/ops/announcements/{announcement_id}")
def notice_page(
    announcement_id: str, request: Request, actor: StaffPage, rt: RuntimeDep
) -> Response:
    with rt.db.read() as tx:
        found = queries.visible(tx, actor, announcement_id)
        program = programs.get_program(tx, found.program_id)
        progress = queries.progress(tx, announcement_id)
    return render(
        request,
        "ops/announcement.html",
        staff_context(
            actor,
            a=found,
            program=program,
            progress=progress,
            operate=can_operate(actor),
            own=found.requested_by == actor.label,
        ),
    )


@router.post("/ops/announcements/{announcement_id}/approve")
def approve_notice(
    announcement_id: str, request: Request, actor: OperatorPage, rt: RuntimeDep
) -> Response:
    with rt.db.write() as tx:
        announcements.approve(tx, rt.clock.now(), actor, announcement_id)
    return redirect(request, f"/ops/announcements/{announcement_id}")


@router.post("/ops/announcements/{announcement_id}/reject")
def reject_notice(
    announcement_id: str,
    request: Request,
    actor: OperatorPage,
    rt: RuntimeDep,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    with rt.db.write() as tx:
        announcements.reject(tx, rt.clock.now(), actor, announcement_id, reason)
    return redirect(request, f"/ops/announcements/{announcement_id}")
