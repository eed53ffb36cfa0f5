"""RFC 9457 problem details with stable codes, in zh-CN or en by ``Accept-Language``.

Every failure leaves the API as ``application/problem+json``: ``type`` (a URN naming the code),
``title``, ``status``, ``code``, ``detail`` in the caller's language, and structured fields.
Nothing a client sends may produce a 500; an unexpected error is logged without request data and
answered with a generic problem.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from quan.api.edge import refusal_of
from quan.domain.errors import (
    FORBIDDEN,
    MALFORMED_REQUEST,
    NOT_FOUND,
    UNAUTHORIZED,
    VALIDATION_FAILED,
    ErrorSpec,
    Kind,
    QuanError,
    define,
)
from quan.edge.status import STATUS
from quan.store.db import log_failure

log = logging.getLogger("quan.api")

METHOD_NOT_ALLOWED = define(
    "METHOD_NOT_ALLOWED", Kind.BAD_REQUEST, zh="不支持该请求方法", en="Method not allowed"
)
CONFLICT = define(
    "CONFLICT",
    Kind.CONFLICT,
    zh="与现有数据冲突（可能是并发的重复请求），请刷新后重试",
    en="Conflicts with existing data (perhaps a concurrent duplicate); refresh and retry",
)
BUSY = define(
    "SERVICE_BUSY",
    Kind.CONFLICT,
    zh="系统繁忙，请稍后重试",
    en="The service is busy; please retry shortly",
)
INTERNAL = define("INTERNAL_ERROR", Kind.CONFLICT, zh="服务器内部错误", en="Internal server error")
PAYLOAD_TOO_LARGE = define(
    "PAYLOAD_TOO_LARGE", Kind.BAD_REQUEST, zh="请求体过大", en="The request body is too large"
)


def language(request: Request) -> str:
    """zh-CN unless the caller prefers English (q-values honoured; Chinese is the default)."""
    return language_of(request.headers.get("accept-language", ""))


@lru_cache(maxsize=512)  # a handful of distinct headers; parsed once each (hot paths)
def language_of(header: str) -> str:
    """The language of an ``Accept-Language`` header's value (see :func:`language`)."""
    best, best_q = "zh", 0.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        tag = tag.strip().lower()
        lang = "en" if tag.startswith("en") else "zh" if tag.startswith("zh") else None
        if lang and q > best_q:
            best, best_q = lang, q
    return best


def problem_document(
    spec: ErrorSpec,
    *,
    lang: str,
    instance: str,
    status: int | None = None,
    params: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[int, dict[str, Any]]:
    """The status and body of a problem (shared by the handlers and the lean claim path)."""
    status = status or STATUS[spec.kind]
    body: dict[str, Any] = {
        "type": f"urn:quan:problem:{spec.code}",
        "title": spec.code.replace("_", " ").capitalize(),
        "status": status,
        "code": spec.code,
        "detail": QuanError(spec, **(params or {})).message(lang),
        "instance": instance,
    }
    body.update({k: v for k, v in (params or {}).items() if k not in body})
    if extra:
        body.update(extra)
    return status, body


def error_headers(exc: QuanError) -> dict[str, str] | None:
    if exc.kind in (Kind.TOO_MANY, Kind.UNAVAILABLE) and "retry_after_seconds" in exc.params:
        return {"Retry-After": str(exc.params["retry_after_seconds"])}
    if exc.kind is Kind.UNAUTHORIZED:
        return {"WWW-Authenticate": "Bearer"}
    return None


def problem(
    request: Request,
    spec: ErrorSpec,
    *,
    status: int | None = None,
    params: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    status, body = problem_document(
        spec,
        lang=language(request),
        instance=request.url.path,
        status=status,
        params=params,
        extra=extra,
    )
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        out.append({"field": ".".join(loc), "message": err.get("msg", ""), "type": err.get("type")})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(QuanError)
    async def _quan(request: Request, exc: QuanError) -> JSONResponse:
        return problem(request, exc.spec, params=exc.params, headers=error_headers(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            return problem(request, MALFORMED_REQUEST, extra={"errors": errors})
        return problem(request, VALIDATION_FAILED, extra={"errors": errors})

    @app.exception_handler(ValidationError)
    async def _model_invalid(request: Request, exc: ValidationError) -> JSONResponse:
        # A schema built from other input than a request body (the console's forms build the
        # API's bodies) refused it: the same 422 as a body the route validated.
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""),
             "type": e.get("type")}
            for e in exc.errors()
        ]
        return problem(request, VALIDATION_FAILED, extra={"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        refused = refusal_of(request.scope)
        if refused is not None:  # the edge refused the body while the route read it
            return problem(
                request,
                refused.spec,
                status=refused.status,
                params=refused.params,
                headers={"Connection": "close"} if refused.status == 408 else None,
            )
        if request.scope.get("quan.body_too_large") or exc.status_code == 413:
            return problem(request, PAYLOAD_TOO_LARGE, status=413)
        if exc.status_code == 400:
            return problem(request, MALFORMED_REQUEST)
        if exc.status_code == 404:
            return problem(request, NOT_FOUND, params={"what": request.url.path})
        if exc.status_code == 405:
            return problem(request, METHOD_NOT_ALLOWED, status=405)
        if exc.status_code == 401:
            return problem(request, UNAUTHORIZED)
        if exc.status_code == 403:
            return problem(request, FORBIDDEN)
        return problem(request, VALIDATION_FAILED, status=exc.status_code)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A unique or check constraint caught what a concurrent request slipped past the
        # service's own checks; the transaction was rolled back, so nothing was written.
        log.warning("constraint refused a write on %s %s", request.method, request.url.path)
        return problem(request, CONFLICT)

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable or busy on %s %s", request.method, request.url.path)
        return problem(request, BUSY, status=503, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log_failure(log, "unexpected error on %s %s", request.method, request.url.path, exc=exc)
        return problem(request, INTERNAL, status=500)
