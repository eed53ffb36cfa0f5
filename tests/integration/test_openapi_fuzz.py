"""A fuzzing walk over the OpenAPI document (issue 13, "done when"): every operation, every
parameter and every body field gets NUL bytes, dates at the ends of the calendar, huge
numbers, deep JSON and wrong types, as an anonymous caller and as a signed-in operator; no
answer may be a 5xx.

A deterministic walker rather than schemathesis or hypothesis: the classes of bad input are
known (the review's findings), so each is sent to each field exactly once — every field is
covered in one pass of a few seconds per database, and a failure names the operation, field
and value to replay, with no shrinking or example database to manage.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import World

NUL = "a\u0000b"
EDGE_DATES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00", "9999-12-31"]
DEEP = json.loads("[" * 200 + "]" * 200)  # serialised below at 1,000 levels
# One of each class per field: the classes, not the count, find the faults.
BAD_VALUES: list[Any] = [NUL, EDGE_DATES[0], EDGE_DATES[2], 2**80, True, {"x": [NUL]}]
BAD_QUERY = ["a%00b", EDGE_DATES[1], "99999999999999999999999", "x" * 2000]
DEEP_BODY = b"[" * 1000 + b"]" * 1000


def _resolve(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    if depth > 8:
        return {}
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _resolve(spec["components"]["schemas"][name], spec, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return _resolve(options[0], spec, depth + 1) if options else {}
    return schema


def _sample(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value for ``schema`` (the fuzzed field varies; the rest look normal)."""
    schema = _resolve(schema, spec, depth)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 6:
            return {}
        props = schema.get("properties", {})
        return {k: _sample(v, spec, depth + 1) for k, v in props.items()
                if k in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer":
        return max(int(schema.get("minimum", schema.get("exclusiveMinimum", 0))) + 1, 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return "2026-12-01T00:00:00+08:00"
    if schema.get("format") == "date":
        return "2026-12-01"
    return "x"


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path, operation


def _template(spec: dict[str, Any], method: str, url: str) -> str:
    for _, path, _ in _operations(spec):
        names = [seg for seg in path.split("/") if seg.startswith("{")]
        if _fill(path, {n[1:-1]: "x1" for n in names}) == url:
            return path
    return url


def _fill(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def _requests(
    spec: dict[str, Any], refused: set[tuple[str, str]] | None = None
) -> Iterator[tuple[str, str, dict[str, Any], str]]:
    """(method, url, httpx keyword arguments, what is fuzzed); operations in ``refused`` (the
    caller may not use them at all) get only their first, plain request."""
    for method, path, operation in _operations(spec):
        params = operation.get("parameters", [])
        path_names = [p["name"] for p in params if p["in"] == "path"]
        normal = dict.fromkeys(path_names, "x1")
        yield method, _fill(path, normal), {}, "plain"
        if refused is not None and (method, path) in refused:
            continue
        for name in path_names:
            for bad in ("a%00b", "9" * 40):
                yield method, _fill(path, {**normal, name: bad}), {}, f"path {name}={bad}"
        url = _fill(path, normal)
        for param in (p for p in params if p["in"] == "query"):
            for bad in BAD_QUERY:
                yield method, f"{url}?{param['name']}={bad}", {}, f"query {param['name']}={bad}"
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        schema = _resolve(content["application/json"]["schema"], spec)
        base = _sample(schema, spec)
        json_headers = {"content-type": "application/json"}
        yield method, url, {"content": DEEP_BODY, "headers": json_headers}, "body: deep JSON"
        yield method, url, {"json": NUL}, "body: NUL string"
        yield method, url, {"json": [base]}, "body: wrong type"
        for field in schema.get("properties", {}) if isinstance(base, dict) else []:
            for bad in BAD_VALUES:
                body = {**base, field: bad}
                yield method, url, {"json": body}, f"body {field}={bad!r:.40}"
            body = {**base, field: DEEP}
            yield method, url, {"json": body}, f"body {field}=deep"


@pytest.mark.parametrize("caller", ["anonymous", "operator"])
def test_no_input_in_the_openapi_document_gets_a_5xx(world: World, caller: str) -> None:
    spec = world.client.get("/openapi.json").json()
    headers = world.headers(caller) if caller != "anonymous" else {}
    failures: list[str] = []
    refused: set[tuple[str, str]] = set()
    sent = 0
    for method, url, kwargs, what in _requests(spec, refused):
        extra = kwargs.pop("headers", {})
        response = world.client.request(
            method.upper(), url, headers={**headers, **extra, "Idempotency-Key": f"fuzz-{sent}"},
            **kwargs,
        )
        sent += 1
        if what == "plain" and response.status_code in (401, 403):
            # Refused before any input is read: the rest of this operation is the same answer.
            refused.add((method, _template(spec, method, url)))
        if response.status_code >= 500:
            failures.append(f"{method.upper()} {url} ({what}): {response.status_code}")
    # Every operation was tried plainly, and every one the caller may use was also fuzzed.
    operations = len(list(_operations(spec)))
    assert operations > 80
    assert sent >= operations + 2 * (operations - len(refused))
    assert not failures, "\n".join(failures[:40])
