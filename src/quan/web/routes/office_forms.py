"""What the office's forms share: one idempotent way to create, and one way to say what is wrong.

**Creating once.** Every create form carries a ``form_key`` drawn when the form was shown; the
create runs through :func:`quan.services.idempotency.run` under that key (scoped to the signed-in
person, bound to the form's content), so a double click or a resent form answers with the thing
the first one created instead of creating a second.

**Errors.** A refusal becomes the console's :class:`~quan.web.refusals.FormErrors` (one sentence
per form control in the page's language, amounts in yuan, no codes, no validator English), made
by :mod:`quan.web.refusals`; this module only says which control each refusal concerns.
Templates show them through ``office/_fields.html`` (next to the control, ``aria-invalid``,
``aria-describedby``) and ``_form_errors.html`` (the summary; ``static/forms.js`` moves the
focus).
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
from quan.web.refusals import Field, FormErrors, from_refusal, from_validation
from quan.web.templating import DEFAULT_ZONE

FieldErrors = FormErrors


def errors_of(**sentences: str) -> FormErrors:
    """Form errors from ``control name=sentence`` (checks the office makes before a service)."""
    errors = FormErrors()
    for name, text in sentences.items():
        errors.add(name, text)
    return errors


# A repeat that finds the first still being written waits up to 5 s for it.
IN_PROGRESS_TRIES: Final = 50
IN_PROGRESS_WAIT: Final = 0.1

# Which form control a refusal concerns (absent: the form as a whole).
FIELD_OF: Final[Mapping[str, str]] = {
    "FUNDER_EXISTS": "name",
    "INVALID_TEXT_NAME": "name",
    "INVALID_TIMEZONE": "timezone",
    "INVALID_WINDOW": "ends_at",
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


def new_form_key() -> str:
    return secrets.token_urlsafe(16)


def refusal(request: Request, exc: QuanError, zone: str = DEFAULT_ZONE) -> FormErrors:
    """A service's refusal, said by the console's one mechanism (:mod:`quan.web.refusals`:
    amounts in yuan, times in ``zone``) and attached to the control it concerns."""
    t = Translator(request_lang(request))
    if exc.code == "INVALID_TEXT_NAME":  # its message names the model field: say it plainly
        return errors_of(name=t("office.invalid.name"))
    return from_refusal(exc, t, zone, attach=FIELD_OF.get(exc.code))


def invalid(request: Request, exc: ValidationError, fields: Mapping[str, Field]) -> FormErrors:
    """A request model's refusal as sentences per form control (:func:`from_validation`)."""
    return from_validation(exc, Translator(request_lang(request)), fields)


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
