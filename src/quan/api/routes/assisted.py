"""The assisted channel (R1.4): agents issue vouchers for citizens at the desk and print them.

Registering the citizen is ``POST /citizens`` with the agent's token (attributed to the agent).
Staff see a code only when they hand it over in person: issuing needs the citizen's presence
proven, printing belongs to the agent of the act within its window, reprints are rare, reasoned
and audited, and no other role prints at all (docs/assisted-and-sharing.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from quan.api.schemas.batches import VoucherReceipt
from quan.api.schemas.citizens import OtpAccepted
from quan.api.schemas.common import Body
from quan.domain.auth import Actor, Role
from quan.edge.deps import Allow, IdempotencyHeader, KeysDep, RuntimeDep
from quan.services.issuance import assisted, assisted_acts, assisted_print
from quan.services.issuance.assisted_acts import Presence, ReprintReason

router = APIRouter(tags=["assisted"])

AgentOnly = Annotated[Actor, Depends(Allow(Role.AGENT))]
Format = Annotated[Literal["png", "pdf"], Query(alias="format")]


class PresenceProof(Body):
    otp_code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}$",
        description="The code sent to the citizen's phone (POST /citizens/{id}/presence-codes), "
        "read out by the citizen",
    )
    resident_id: str | None = Field(
        default=None, max_length=32, description="The ID card number, typed from the card"
    )

    def proof(self) -> Presence:
        return Presence(otp_code=self.otp_code, resident_id=self.resident_id)


class AssistedClaimCreate(PresenceProof):
    citizen_id: str = Field(min_length=1, max_length=64, description="The citizen served")


class ReprintCreate(PresenceProof):
    reason: ReprintReason


@router.post(
    "/citizens/{citizen_id}/presence-codes", status_code=202, response_model=OtpAccepted
)
def send_presence_code(
    citizen_id: str, actor: AgentOnly, rt: RuntimeDep, keys: KeysDep
) -> OtpAccepted:
    """Send the citizen a one-time code by SMS, which they read out at the desk to prove they are
    present. The agent never sees the phone number. 409 ``NO_PHONE_ON_FILE``: use the ID card."""
    with rt.db.write() as tx:
        sent = assisted_acts.send_presence_code(
            tx, rt.clock.now(), keys, rt.throttle, actor, citizen_id[:64]
        )
    return OtpAccepted(
        expires_in_seconds=sent.expires_in_seconds, resend_after_seconds=sent.resend_after_seconds
    )


@router.post("/batches/{batch_id}/assisted-claims", response_model=VoucherReceipt, status_code=201)
def assisted_claim(
    batch_id: str,
    body: AssistedClaimCreate,
    actor: AgentOnly,
    rt: RuntimeDep,
    keys: KeysDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """An agent claims one voucher of a first-come batch for a citizen who is present
    (``otp_code`` or ``resident_id``: 422 ``PRESENCE_REQUIRED``, 401 ``OTP_INVALID``, 403
    ``PRESENCE_NOT_PROVEN``). Every claim rule holds (409 ``SOLD_OUT``, ``ALREADY_CLAIMED``…;
    403 ``NOT_ELIGIBLE``, ``BLACKLISTED``, ``OTHER_ISSUER``). A retry with the same
    ``Idempotency-Key`` by the same agent within the print window replays without a new proof.
    Print it with ``GET /vouchers/{id}/printable`` within the window."""
    outcome = assisted.issue_for_citizen(
        rt.db,
        rt.clock,
        actor,
        body.citizen_id,
        batch_id,
        keys=keys,
        throttle=rt.throttle,
        proof=body.proof(),
        key=key,
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    receipt = VoucherReceipt.of(outcome.voucher).model_dump(mode="json")
    return JSONResponse(receipt, status_code=201, headers=headers)


def _document(page: assisted.Printable, fmt: str) -> Response:
    content, media_type = assisted_print.render(page, fmt)
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'inline; filename="voucher-{page.voucher_id}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/vouchers/{voucher_id}/printable",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "application/pdf": {}}}},
)
def printable(voucher_id: str, actor: AgentOnly, rt: RuntimeDep, fmt: Format = "pdf") -> Response:
    """The voucher to hand over on paper: QR code, the typable code, value, validity and the
    program's name; no personal data. Only the agent who issued it at the desk, within 15
    minutes and 3 prints (403 ``PRINT_NOT_ALLOWED``, ``PRINT_WINDOW_OVER``; 409
    ``PRINT_LIMIT_REACHED``)."""
    with rt.db.write() as tx:
        page = assisted.printable(tx, rt.clock.now(), actor, voucher_id)
    return _document(page, fmt)


@router.post(
    "/vouchers/{voucher_id}/reprints",
    response_class=Response,
    status_code=201,
    responses={201: {"content": {"image/png": {}, "application/pdf": {}}}},
)
def reprint(
    voucher_id: str,
    body: ReprintCreate,
    actor: AgentOnly,
    rt: RuntimeDep,
    keys: KeysDep,
    fmt: Format = "pdf",
) -> Response:
    """A copy of a voucher issued at the desk, later: the holder present again (``otp_code`` or
    ``resident_id``), a ``reason`` (``lost``, ``damaged``, ``printer_fault``), at most twice
    per voucher (409 ``REPRINT_LIMIT_REACHED``); recorded as ``voucher.reprinted`` and logged."""
    page = assisted.reprint(
        rt.db,
        rt.clock,
        actor,
        voucher_id,
        keys=keys,
        throttle=rt.throttle,
        proof=body.proof(),
        reason=body.reason,
    )
    response = _document(page, fmt)
    response.status_code = 201
    return response
