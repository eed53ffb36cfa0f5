"""The merchant portal, for a shop's owner: apply to an issuer's scheme, sign in with the
contact phone and an SMS code, follow the review (its outcome and reasons in words) and appeal
a rejection. Terminals are in :mod:`~quan.web.routes.portal_terminals`, redemptions and
statements in :mod:`~quan.web.routes.portal_money`.

The session cookie (``quan_owner``) holds a signed owner token (kind ``merchant``), which the
API takes too: it is bound to one merchant, as an owner key is. A phone that is the contact of
several merchants proves itself once and then picks one (a short-lived ``merchant_phone`` token
in its own cookie).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Depends, Form, Request, Response

from quan.api.schemas.merchants import MerchantPublic, ReviewPublic
from quan.domain.auth import Actor, PartnerRole
from quan.domain.categories import CATEGORIES
from quan.domain.errors import FORBIDDEN, QuanError
from quan.domain.merchants import Scene, parse_contact_phone
from quan.edge.deps import RuntimeDep, client_ip
from quan.edge.status import STATUS
from quan.services import idempotency
from quan.services.merchants import appeals, merchant_reviews, merchants, owner_signin
from quan.services.merchants.owner_signin import (
    OWNER_SESSION_KIND,
    PHONE_PROOF_KIND,
    OwnerKeys,
)
from quan.services.people.citizens import CitizenKeys
from quan.services.people.rate_limits import RateLimit, spend
from quan.services.people.tokens import TokenSigner
from quan.services.runtime import Runtime
from quan.web.i18n import Translator, request_lang
from quan.web.refusals import FormErrors, from_refusal
from quan.web.routes.common import console_router
from quan.web.routing import redirect
from quan.web.session import Area, ConsoleAllow, end_session, set_cookie, start_session
from quan.web.templating import render
from quan.web.views.portal import issuer_choices

router = console_router()

OwnerPage = Annotated[Actor, Depends(ConsoleAllow(Area.OWNER, PartnerRole.MERCHANT))]
CHOICE_COOKIE = "quan_owner_choice"
CHOICE_SECONDS = 600

# Which field of the application form each refusal concerns (the message is put next to it).
FIELD_OF = {
    "INVALID_MERCHANT_NAME": "name",
    "INVALID_USCC": "uscc",
    "MERCHANT_EXISTS": "uscc",
    "UNKNOWN_CATEGORY": "category",
    "MERCHANT_CATEGORY_REQUIRED": "category",
    "MERCHANT_SCENE_REQUIRED": "scenes",
    "INVALID_REGION_CODE": "region_code",
    "REGION_OUTSIDE_ISSUER": "region_code",
    "INVALID_BANK_ACCOUNT": "account_number",
    "INVALID_CONTACT_PHONE": "contact_phone",
    "NOT_FOUND": "issuer_id",
}


def portal_context(actor: Actor | None, **values: Any) -> dict[str, Any]:
    return {"area": "portal", "actor": actor, "signout_path": Area.OWNER.signout_path, **values}


def owner_keys(rt: Runtime) -> OwnerKeys:
    return OwnerKeys.from_settings(rt.settings, CitizenKeys.from_settings(rt.settings).outbox)


def start_owner_session(
    response: Response, request: Request, rt: Runtime, merchant_id: str
) -> None:
    token, _ = rt.tokens.issue(OWNER_SESSION_KIND, merchant_id, rt.clock.now())
    start_session(response, request, Area.OWNER, token)
    response.delete_cookie(CHOICE_COOKIE, path="/")


def mine(actor: Actor) -> str:
    if actor.merchant_id is None:  # every owner session is bound to its merchant; be sure
        raise QuanError(FORBIDDEN)
    return actor.merchant_id


# --- applying ----------------------------------------------------------------------------


def _apply_page(
    request: Request,
    rt: Runtime,
    form: dict[str, Any],
    error: QuanError | None = None,
    status_code: int = 200,
) -> Response:
    with rt.db.read() as tx:
        issuers = issuer_choices(tx)
    return render(
        request,
        "portal/apply.html",
        portal_context(
            None,
            form=form,
            issuers=issuers,
            categories=list(CATEGORIES.values()),
            apply_key=form.get("apply_key") or secrets.token_urlsafe(16),
            errors=_apply_errors(request, error),
        ),
        status_code=status_code,
    )


def _apply_errors(request: Request, error: QuanError | None) -> FormErrors:
    """The refusal in words, next to the field it concerns (the bank account's reason says
    which of its two fields)."""
    if error is None:
        return FormErrors()
    attach = FIELD_OF.get(error.code)
    if error.code == "INVALID_BANK_ACCOUNT" and error.params.get("reason") == "bank_name":
        attach = "bank_name"
    return from_refusal(error, Translator(request_lang(request)), attach=attach)


@router.get("/merchant/apply")
def apply_page(request: Request, rt: RuntimeDep) -> Response:
    return _apply_page(request, rt, {"scenes": ["offline"]})


@router.post("/merchant/apply")
def apply(
    request: Request,
    rt: RuntimeDep,
    issuer_id: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    uscc: Annotated[str, Form(max_length=64)] = "",
    category: Annotated[list[str], Form(max_length=32)] = [],  # noqa: B006 - FastAPI form list
    region_code: Annotated[str, Form(max_length=16)] = "",
    scenes: Annotated[list[str], Form(max_length=2)] = [],  # noqa: B006
    bank_name: Annotated[str, Form(max_length=200)] = "",
    account_number: Annotated[str, Form(max_length=64)] = "",
    contact_phone: Annotated[str, Form(max_length=32)] = "",
    apply_key: Annotated[str, Form(min_length=8, max_length=64)] = "",
) -> Response:
    """Apply as ``POST /merchants`` does (same rules and codes, same per-address limit); the
    applicant is then signed in as the merchant, as the API hands the applicant its owner key.
    The form's key makes a double submit one application."""
    form = {
        "issuer_id": issuer_id,
        "name": name,
        "uscc": uscc,
        "categories": category,
        "region_code": region_code.strip(),
        "scenes": scenes,
        "bank_name": bank_name,
        "account_number": account_number,
        "contact_phone": contact_phone,
        "apply_key": apply_key,
    }
    try:
        known = {s.value for s in Scene}
        cmd = merchants.NewMerchant(
            issuer_id=issuer_id,
            name=name,
            uscc=uscc,
            categories=category,
            region_code=region_code.strip(),
            scenes=[Scene(s) for s in scenes if s in known],
            bank_name=bank_name,
            account_number=account_number,
            contact_phone=contact_phone,
        )
        limit = RateLimit("merchants.apply.ip", rt.settings.merchant_applications_per_hour, 3600)
        key = idempotency.IdempotencyKey.of(
            "portal-apply",
            apply_key or secrets.token_urlsafe(16),
            "POST",
            "/merchant/apply",
            {"issuer_id": issuer_id, "uscc": uscc.strip().upper()},
        )
        sealing = merchants.sealing_key(rt.settings)
        lookup = owner_signin.phone_lookup_key(rt.settings.secret_bytes("pii_key"))

        def work(tx: Any) -> str:
            spend(rt.throttle, limit, client_ip(request))
            merchant, _ = merchants.apply(tx, rt.clock.now(), sealing, cmd, phone_lookup=lookup)
            return merchant.id

        outcome = idempotency.run(
            rt.db, rt.clock, key, work, lambda mid: (201, {"merchant_id": mid})
        )
    except QuanError as exc:
        return _apply_page(request, rt, form, exc, status_code=STATUS.get(exc.kind, 422))
    response = redirect(request, "/merchant?done=applied")
    start_owner_session(response, request, rt, str(outcome.body["merchant_id"]))
    return response


# --- signing in ----------------------------------------------------------------------------


def _signin(
    request: Request,
    step: str,
    phone: str = "",
    error: QuanError | None = None,
    status_code: int = 200,
    **values: Any,
) -> Response:
    return render(
        request,
        "portal/signin.html",
        portal_context(
            None,
            step=step,
            phone=phone,
            error=error.message(request_lang(request)) if error else None,
            **values,
        ),
        status_code=status_code,
    )


@router.get("/merchant/signin")
def signin_page(request: Request) -> Response:
    return _signin(request, "phone")


@router.post("/merchant/code")
def request_code(
    request: Request, rt: RuntimeDep, phone: Annotated[str, Form(max_length=32)] = ""
) -> Response:
    """Send a code to a merchant's contact phone; the next step asks for it whatever the phone
    (no probing which phones belong to merchants)."""
    try:
        parsed = parse_contact_phone(phone)
        spend(rt.throttle, owner_signin.CODE_REQUESTS, client_ip(request))
        with rt.db.write() as tx:
            owner_signin.request_code(tx, rt.clock.now(), owner_keys(rt), rt.throttle, phone=parsed)
    except QuanError as exc:
        return _signin(request, "phone", phone, exc, status_code=422)
    return _signin(request, "code", phone)


@router.post("/merchant/session")
def sign_in(
    request: Request,
    rt: RuntimeDep,
    phone: Annotated[str, Form(max_length=32)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    try:
        proved = owner_signin.sign_in(
            rt.db,
            rt.clock,
            owner_keys(rt),
            rt.throttle,
            phone=parse_contact_phone(phone),
            code=code.strip(),
            ip=client_ip(request),
        )
    except QuanError as exc:
        return _signin(request, "code", phone, exc, status_code=401)
    if len(proved.merchant_ids) == 1:
        response = redirect(request, "/merchant")
        start_owner_session(response, request, rt, proved.merchant_ids[0])
        return response
    with rt.db.read() as tx:
        names = merchants.names_of(tx, proved.merchant_ids)
        found = [merchants.get_merchant(tx, m) for m in proved.merchant_ids]
    response = _signin(request, "choose", choices=[(m, names.get(m.id, m.id)) for m in found])
    # A proof that expires in ten minutes (the same signing key as every token; its kind is
    # accepted by nothing but the choice below).
    signer = TokenSigner(rt.settings.secret_bytes("secret_key"), CHOICE_SECONDS)
    proof, _ = signer.issue(PHONE_PROOF_KIND, proved.phone_hash, rt.clock.now())
    set_cookie(response, request, CHOICE_COOKIE, proof, max_age=CHOICE_SECONDS)
    return response


@router.post("/merchant/choose")
def choose(
    request: Request, rt: RuntimeDep, merchant_id: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """A proved phone signs in as one of its merchants."""
    proof = rt.tokens.verify(request.cookies.get(CHOICE_COOKIE, ""), rt.clock.now())
    if proof is None or proof.subject_kind != PHONE_PROOF_KIND:
        return redirect(request, "/merchant/signin")
    with rt.db.read() as tx:
        allowed = owner_signin.may_sign_in_as(tx, proof.subject_id, merchant_id)
    if not allowed:
        return redirect(request, "/merchant/signin")
    response = redirect(request, "/merchant")
    start_owner_session(response, request, rt, merchant_id)
    return response


@router.post("/merchant/signout")
def signout(request: Request) -> Response:
    response = redirect(request, "/merchant/signin")
    end_session(response, Area.OWNER)
    return response


# --- the merchant's record, its review and an appeal ---------------------------------------


def _home(
    request: Request,
    actor: Actor,
    rt: Runtime,
    error: QuanError | None = None,
    status_code: int = 200,
) -> Response:
    merchant_id = mine(actor)
    with rt.db.read() as tx:
        merchant = MerchantPublic.of(merchants.visible_merchant(tx, actor, merchant_id))
        history = [ReviewPublic(**asdict(r)) for r in merchant_reviews.reviews(tx, merchant_id)]
        filed = appeals.appeals(tx, merchant_id)
    rejection = next((r for r in reversed(history) if r.decision.value == "reject"), None)
    may_appeal = (
        merchant.status.value == "rejected"
        and rejection is not None
        and all(a.review_id != rejection.id for a in filed)
    )
    return render(
        request,
        "portal/home.html",
        portal_context(
            actor,
            merchant=merchant,
            history=history,
            appeals=filed,
            may_appeal=may_appeal,
            notice=request.query_params.get("done"),
            error=error.message(request_lang(request)) if error else None,
        ),
        status_code=status_code,
    )


@router.get("/merchant")
def home(request: Request, actor: OwnerPage, rt: RuntimeDep) -> Response:
    return _home(request, actor, rt)


@router.post("/merchant/appeal")
def appeal(
    request: Request,
    actor: OwnerPage,
    rt: RuntimeDep,
    grounds: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        with rt.db.write() as tx:
            appeals.file_appeal(tx, rt.clock.now(), actor, mine(actor), grounds)
    except QuanError as exc:
        return _home(request, actor, rt, exc, status_code=STATUS.get(exc.kind, 422))
    return redirect(request, "/merchant?done=appealed")
