"""Announcements and targeted notices (issue 25, item 7; docs/delivery.md, "Announcements").

Operators write a notice to the holders of a program, a batch or a voucher type, or to a
segment; preview it; a second person approves or rejects a mass notice; the worker sends it at
a steady rate. A public notice shows on the program's disclosure page and here, to anyone.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from quan.domain.notices import BODY_MAX, TITLE_MAX
from quan.edge.deps import PUBLIC, IdempotencyHeader, OperatorOrAdmin, RuntimeDep, StaffReader
from quan.services.delivery import announcement_queries as queries
from quan.services.delivery import announcements as service

router = APIRouter(tags=["announcements"])


class AnnouncementIn(BaseModel):
    audience: Literal["program", "batch", "voucher_type", "segment"]
    audience_ref: str | None = Field(default=None, max_length=64)
    segment: dict[str, Any] | None = None
    title_zh: str = Field(min_length=1, max_length=TITLE_MAX)
    title_en: str = Field(min_length=1, max_length=TITLE_MAX)
    body_zh: str = Field(min_length=1, max_length=BODY_MAX)
    body_en: str = Field(min_length=1, max_length=BODY_MAX)
    public: bool = False

    def draft(self, program_id: str) -> service.Draft:
        return service.Draft(program_id=program_id, **self.model_dump())


class PreviewOut(BaseModel):
    recipients: int
    by_channel: dict[str, int]
    text_zh: str
    text_en: str
    needs_approval: bool


class ProgressOut(BaseModel):
    queued: int
    released: int
    waiting: int
    no_channel: int
    by_status: dict[str, int]


class AnnouncementOut(BaseModel):
    id: str
    program_id: str
    audience: str
    audience_ref: str | None
    segment: Any
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    public: bool
    status: str
    recipients: int
    requested_by: str
    decided_by: str | None
    decided_at: datetime | None
    reject_reason: str | None
    queued: int
    released: int
    published_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    progress: ProgressOut | None = None


class PublicAnnouncementOut(BaseModel):
    id: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    published_at: datetime | None


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def _out(found: service.Announcement, progress: queries.Progress | None = None) -> AnnouncementOut:
    return AnnouncementOut(
        **asdict(found), progress=ProgressOut(**asdict(progress)) if progress else None
    )


@router.post("/programs/{program_id}/announcements/preview", response_model=PreviewOut)
def preview(
    program_id: str, body: AnnouncementIn, actor: OperatorOrAdmin, rt: RuntimeDep
) -> PreviewOut:
    """How many would receive the notice, per channel (``sms``; ``none``: no phone on file),
    its text in both languages, and whether it needs a second person's approval. Writes
    nothing. 422 ``AUDIENCE_REF_REQUIRED``, ``AUDIENCE_NOT_IN_PROGRAM``,
    ``INVALID_ELIGIBILITY_RULE``."""
    with rt.db.read() as tx:
        seen = service.preview(
            tx,
            rt.clock.now(),
            actor,
            body.draft(program_id),
            threshold=rt.settings.announcement_approval_threshold,
        )
    return PreviewOut(**asdict(seen))


@router.post(
    "/programs/{program_id}/announcements", response_model=AnnouncementOut, status_code=201
)
def create(
    program_id: str,
    body: AnnouncementIn,
    actor: OperatorOrAdmin,
    rt: RuntimeDep,
    key: IdempotencyHeader = None,
) -> AnnouncementOut:
    """Write a notice: ``sending`` at once, or ``pending_approval`` above
    ``QUAN_ANNOUNCEMENT_APPROVAL_THRESHOLD`` recipients. A retry with the same
    ``Idempotency-Key`` answers the same notice. 422 ``NO_RECIPIENTS``."""
    with rt.db.write() as tx:
        found = service.create(
            tx,
            rt.clock.now(),
            actor,
            body.draft(program_id),
            threshold=rt.settings.announcement_approval_threshold,
            idempotency_key=key[:200] if key else None,
        )
    return _out(found)


@router.get("/programs/{program_id}/announcements", response_model=list[AnnouncementOut])
def list_for_program(program_id: str, actor: StaffReader, rt: RuntimeDep) -> list[AnnouncementOut]:
    """A program's notices, newest first."""
    with rt.db.read() as tx:
        return [_out(a) for a in queries.for_program(tx, actor, program_id)]


@router.get("/announcements/pending", response_model=list[AnnouncementOut])
def list_pending(actor: StaffReader, rt: RuntimeDep) -> list[AnnouncementOut]:
    """Notices waiting for a second person's approval (operators: of their issuer)."""
    with rt.db.read() as tx:
        return [_out(a) for a in queries.pending(tx, actor)]


@router.get("/announcements/{announcement_id}", response_model=AnnouncementOut)
def get(announcement_id: str, actor: StaffReader, rt: RuntimeDep) -> AnnouncementOut:
    """A notice with its sending progress: recipients queued and released, and the released
    messages per outbox status."""
    with rt.db.read() as tx:
        found = queries.visible(tx, actor, announcement_id)
        return _out(found, queries.progress(tx, announcement_id))


@router.post("/announcements/{announcement_id}/approve", response_model=AnnouncementOut)
def approve(announcement_id: str, actor: OperatorOrAdmin, rt: RuntimeDep) -> AnnouncementOut:
    """Approve a mass notice (a second person: 403 ``SELF_APPROVAL`` for its writer; 409
    ``ANNOUNCEMENT_NOT_PENDING``): its recipients are queued now."""
    with rt.db.write() as tx:
        return _out(service.approve(tx, rt.clock.now(), actor, announcement_id))


@router.post("/announcements/{announcement_id}/reject", response_model=AnnouncementOut)
def reject(
    announcement_id: str, body: RejectIn, actor: OperatorOrAdmin, rt: RuntimeDep
) -> AnnouncementOut:
    """Reject a mass notice with a reason (a second person, as for approval)."""
    with rt.db.write() as tx:
        return _out(service.reject(tx, rt.clock.now(), actor, announcement_id, body.reason))


@router.get(
    "/public/programs/{program_id}/announcements",
    response_model=list[PublicAnnouncementOut],
    dependencies=[Depends(PUBLIC)],
)
def public_list(program_id: str, rt: RuntimeDep) -> list[PublicAnnouncementOut]:
    """A program's public notices that went out, newest first (anyone)."""
    with rt.db.read() as tx:
        return [
            PublicAnnouncementOut(
                id=a.id,
                title_zh=a.title_zh,
                title_en=a.title_en,
                body_zh=a.body_zh,
                body_en=a.body_en,
                published_at=a.published_at,
            )
            for a in queries.public_for_program(tx, program_id)
        ]
