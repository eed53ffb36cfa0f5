"""The HTTP status of each kind of refusal, the same on the API and in the console."""

from __future__ import annotations

from quan.domain.errors import Kind

STATUS = {
    Kind.INVALID: 422,
    Kind.BAD_REQUEST: 400,
    Kind.UNAUTHORIZED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.REFUSED: 422,
    Kind.GONE: 410,
    Kind.TOO_MANY: 429,
    Kind.UNAVAILABLE: 503,
}
