"""Public disclosure pages over HTTP (R6.4): what anyone may know about a program, no sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from quan.api.schemas.public import ProgramDisclosure
from quan.edge.deps import PUBLIC, RuntimeDep
from quan.services.transparency import disclosure, transparency

router = APIRouter(prefix="/public", tags=["public disclosure"])


@router.get(
    "/programs/{program_id}",
    response_model=ProgramDisclosure,
    dependencies=[Depends(PUBLIC)],
)
def program_disclosure(program_id: str, rt: RuntimeDep) -> ProgramDisclosure:
    """A program's public figures and rule changes, with the log checkpoint they were read at."""
    pseudonymize = transparency.pseudonymizer(rt.settings)
    with rt.db.read() as tx:
        found = disclosure.program_disclosure(tx, program_id, pseudonymize)
    return ProgramDisclosure.of(found)
