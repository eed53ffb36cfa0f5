"""What the office's forms share: one idempotent way to create, and one way to say what is wrong.

**Creating once.** Every create form carries a ``form_key`` drawn when the form was shown; the
create runs through :func:`quan.services.idempotency.run` under that key (scoped to the signed-in
person, bound to the form's content), so a double click or a resent form answers with the thing
the first one created instead of creating a second.

**Errors.** A refusal becomes ``{field: sentence}`` in the page's language: the field it concerns
(``""`` for the form as a whole), amounts in yuan, no codes, no English validator text on a
Chinese page. Templates show them through ``office/_fields.html`` and ``_form_errors.html``;
this module and that macro file are the only places to change when the console's general field
error mechanism replaces them.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy import Connection

from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.edge.deps import idempotency_key
from quan.services import idempotency
from quan.services.runtime import Runtime
from quan.web.i18n import Translator, request_lang
from quan.web.templating import yuan

FieldErrors = dict[str, str]

# A repeat that finds the first still being written waits up to 5 s for it.
IN_PROGRESS_TRIES: Final = 50
IN_PROGRESS_WAIT: Final = 0.1

# Which form field a refusal concerns (absent: the form as a whole).
FIELD_OF: Final[Mapping[str, str]] = {
    "FUNDER_EXISTS": "name",
    "INVALID_TEXT_NAME": "name",
    "INVALID_TIMEZONE": "timezone",
    "INVALID_WINDOW": "ends_at",
    "PROGRAM_NOT_DRAFT": "",
    "REASON_REQUIRED": "reason",
    "CLOSE_REASON_REQUIRED": "reason",
    "INSUFFICIENT_BUDGET": "amount",
    "EXCEEDS_FUNDER_CONTRIBUTION": "amount",
    "USERNAME_TAKEN": "username",
    "INVALID_USERNAME": "username",
    "WEAK_PASSWORD": "password",
    "ISSUER_REQUIRED": "issuer_id",
    "OTHER_ISSUER": "issuer_id",
}

# Refusals whose own message names fen or a field's code: said here in yuan and in words.
_OWN_WORDS: Final[Mapping[str, Callable[[Translator, dict[str, Any]], str]]] = {
    "INSUFFICIENT_BUDGET": lambda t, p: t(
        "office.err.insufficient",
        needed=yuan(p.get("needed_fen")),
        available=yuan(p.get("available_fen")),
    ),
    "EXCEEDS_FUNDER_CONTRIBUTION": lambda t, p: t(
        "office.err.exceeds_funder", returnable=yuan(p.get("returnable_fen"))
    ),
    "INVALID_TEXT_NAME": lambda t, p: t("office.invalid.name"),
}


def new_form_key() -> str:
    return secrets.token_urlsafe(16)


def refusal(request: Request, exc: QuanError) -> FieldErrors:
    """A service's refusal as ``{field: sentence}``."""
    t = Translator(request_lang(request))
    words = _OWN_WORDS.get(exc.code)
    message = words(t, exc.params) if words else exc.message(t.lang)
    return {FIELD_OF.get(exc.code, ""): message}


def invalid(request: Request, exc: ValidationError, known: set[str]) -> FieldErrors:
    """A request model's refusal as sentences per field (``office.invalid.<field>``)."""
    t = Translator(request_lang(request))
    errors: FieldErrors = {}
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        field = field if field in known else ""
        errors.setdefault(field, t(f"office.invalid.{field}" if field else "office.invalid"))
    return errors


def create_once(
    rt: Runtime,
    actor: Actor,
    request: Request,
    form_key: str,
    content: dict[str, Any],
    work: Callable[[Connection], str],
) -> str:
    """Run ``work`` (which creates something and returns its id) at most once per form key:
    a repeat of the same form answers with the first id. A repeat that arrives while the first
    is still being written (PostgreSQL answers ``IDEMPOTENCY_IN_PROGRESS`` at once) waits for
    it and answers the same, instead of showing a person a message about keys."""
    idem = idempotency_key(actor, f"console-{form_key}", request, content)
    for _ in range(IN_PROGRESS_TRIES):
        try:
            outcome = idempotency.run(rt.db, rt.clock, idem, work, lambda made: (201, {"id": made}))
        except QuanError as exc:
            if exc.code != idempotency.IN_PROGRESS.code:
                raise
            time.sleep(IN_PROGRESS_WAIT)
            continue
        return str(outcome.body["id"])
    raise QuanError(idempotency.IN_PROGRESS)
