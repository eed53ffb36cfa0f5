"""The transparency log over HTTP: checkpoint, public key, entries and proofs — open to anyone.

Entries are public too (api.md allows that for non-personal entries): a leaf never holds personal
data in clear (see :mod:`quan.domain.log_leaf`), and a log only outsiders can check is worth
something only if outsiders can read all of it. Parameters are checked against the latest signed
checkpoint; anything outside it is a 4xx problem with a stable code, never a 500.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from quan.domain.checkpoint import parse_verifier_key
from quan.edge.deps import PUBLIC, RuntimeDep
from quan.jobs.sequencer import embedded_lifespan
from quan.services.operations import log_keys
from quan.services.transparency import transparency
from quan.services.transparency.transparency import MAX_POSITION

router = APIRouter(
    prefix="/audit",
    tags=["transparency log"],
    # In development the API process also runs the sequencer (see quan.jobs.sequencer).
    lifespan=embedded_lifespan,
)

Position = Annotated[int, Query(ge=0, le=MAX_POSITION)]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


@router.get(
    "/checkpoint",
    dependencies=[Depends(PUBLIC)],
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "C2SP signed checkpoint"}},
)
def checkpoint(rt: RuntimeDep) -> PlainTextResponse:
    """The latest signed tree head: origin, size, base64 root, blank line, Ed25519 signature."""
    with rt.db.read() as tx:
        head = transparency.latest(tx)
    return PlainTextResponse(
        head.note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


class PublicKey(BaseModel):
    key_name: str = Field(description="Signed-note key name; also the checkpoint origin line")
    origin: str
    algorithm: str = "Ed25519"
    public_key: str = Field(description="Base64 of the raw 32-byte Ed25519 public key")
    verifier_key: str = Field(description="<name>+<key id>+<base64 key>, as C2SP tools take it")


@router.get("/public-key", response_model=PublicKey, dependencies=[Depends(PUBLIC)])
def public_key(rt: RuntimeDep) -> PublicKey:
    """The key that signs new checkpoints (the last of `/keys`). Verifiers pin it on first use."""
    with rt.db.read() as tx:
        verifier_key = log_keys.published_key(tx, rt.settings)
    name, key = parse_verifier_key(verifier_key)
    return PublicKey(
        key_name=name,
        origin=name,
        public_key=_b64(key.public_bytes_raw()),
        verifier_key=verifier_key,
    )


class HistoryKey(BaseModel):
    verifier_key: str = Field(description="<name>+<key id>+<base64 key>; the name is the origin")
    endorsement: str | None = Field(
        description="Signed note by the key before and by this key (null for the first key): "
        "quan/log/key-rotation/v1, origin, this verifier key, the log's size at rotation"
    )


@router.get("/keys", response_model=list[HistoryKey], dependencies=[Depends(PUBLIC)])
def keys(rt: RuntimeDep) -> list[HistoryKey]:
    """Every key the log has signed with, oldest first; each endorsed by the one before.

    A checkpoint of any age verifies under the key whose id its signature names; a verifier
    that pinned an older key follows the endorsements to the current one.
    """
    with rt.db.read() as tx:
        entries = log_keys.history(tx)
    return [HistoryKey(verifier_key=e.verifier_key, endorsement=e.endorsement) for e in entries]


class EntryPublic(BaseModel):
    index: int
    data: str = Field(description="Base64 of the exact leaf bytes (canonical JSON of the event)")


@router.get("/entries", response_model=list[EntryPublic], dependencies=[Depends(PUBLIC)])
def entries(start: Position, end: Position, rt: RuntimeDep) -> list[EntryPublic]:
    """Entries ``start`` to ``end`` inclusive; at most 1000 per answer (ask again from the next)."""
    pseudonymize = transparency.pseudonymizer(rt.settings)
    with rt.db.read() as tx:
        found = transparency.entries(tx, start, end, pseudonymize)
    return [EntryPublic(index=e.index, data=_b64(e.data)) for e in found]


class InclusionProof(BaseModel):
    leaf_index: int
    tree_size: int
    hashes: list[str] = Field(description="Base64 hashes of the RFC 9162 audit path, leaf first")


@router.get("/proofs/inclusion", response_model=InclusionProof, dependencies=[Depends(PUBLIC)])
def inclusion(index: Position, tree_size: Position, rt: RuntimeDep) -> InclusionProof:
    """RFC 9162 inclusion proof of entry ``index`` in the tree of ``tree_size`` entries."""
    # No transaction: one read of immutable tree nodes (see transparency.inclusion_proof).
    proof = transparency.inclusion_proof(rt.db, index, tree_size)
    return InclusionProof(leaf_index=index, tree_size=tree_size, hashes=[_b64(h) for h in proof])


class ConsistencyProof(BaseModel):
    first: int
    second: int
    hashes: list[str] = Field(description="Base64 hashes of the RFC 9162 consistency proof")


@router.get("/proofs/consistency", response_model=ConsistencyProof, dependencies=[Depends(PUBLIC)])
def consistency(first: Position, second: Position, rt: RuntimeDep) -> ConsistencyProof:
    """RFC 9162 proof that the tree of ``first`` entries is a prefix of the one of ``second``."""
    proof = transparency.consistency_proof(rt.db, first, second)
    return ConsistencyProof(first=first, second=second, hashes=[_b64(h) for h in proof])
