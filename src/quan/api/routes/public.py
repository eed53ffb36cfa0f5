"""Public disclosure pages over HTTP (R6.4): what anyone may know about a program, no sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from quan.api.schemas.public import ProgramDisclosure
from quan.api.snapshots import conditional, disclosure_snapshot
from quan.edge.deps import PUBLIC, RuntimeDep

router = APIRouter(prefix="/public", tags=["public disclosure"])


@router.get(
    "/programs/{program_id}",
    response_model=ProgramDisclosure,
    response_class=Response,
    dependencies=[Depends(PUBLIC)],
)
def program_disclosure(program_id: str, request: Request, rt: RuntimeDep) -> Response:
    """A program's public figures and rule changes, with the log checkpoint they were read at.
    Served from a snapshot at most ``QUAN_PUBLIC_SNAPSHOT_SECONDS`` old (``ETag``; send
    ``If-None-Match`` to get 304 when nothing changed)."""
    snapshot = disclosure_snapshot(program_id, request, rt)
    return conditional(
        request, snapshot, "application/json", int(rt.settings.public_snapshot_seconds)
    )
