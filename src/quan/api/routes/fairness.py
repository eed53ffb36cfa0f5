"""The fairness report (R1.6): per batch and per program, for operators and auditors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from quan.domain.auth import Actor, Role
from quan.edge.deps import Allow, RuntimeDep
from quan.services.issuance import fairness

router = APIRouter(tags=["fairness"])

FairnessReader = Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR, Role.AUDITOR))]


@router.get("/programs/{program_id}/fairness")
def program_fairness(program_id: str, actor: FairnessReader, rt: RuntimeDep) -> dict[str, Any]:
    """Eligible population, vouchers, wins and redemptions by priority group and region across
    every batch of the program, against population share; Gini of vouchers across regions;
    under-served flags (share of vouchers below 0.8 × share of population). See
    ``docs/fairness.md``."""
    with rt.db.read() as tx:
        return fairness.program_report(tx, rt.clock.now(), actor, program_id).to_json()


@router.get("/batches/{batch_id}/fairness")
def batch_fairness(batch_id: str, actor: FairnessReader, rt: RuntimeDep) -> dict[str, Any]:
    """The fairness report of one batch (eligible population: the batch's rule)."""
    with rt.db.read() as tx:
        return fairness.batch_report(tx, rt.clock.now(), actor, batch_id).to_json()
