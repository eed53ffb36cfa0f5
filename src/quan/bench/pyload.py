"""The fallback load generator: asyncio + httpx in the harness process, when wrk is missing.

It honours the same :class:`~quan.bench.load.LoadSpec` as the wrk script (feeds, ``once``,
per-request idempotency keys, status counts) so a benchmark does not care which one ran; the
result says ``httpx``, and the report warns that this client, not the server, may be the limit.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import Counter
from collections.abc import Iterator

import httpx

from quan.bench.load import LoadResult, LoadSpec, RequestItem
from quan.bench.stats import percentile


def _items(spec: LoadSpec) -> Iterator[RequestItem]:
    if spec.feed is not None:
        if spec.once:
            yield from spec.feed
        else:
            yield from itertools.cycle(spec.feed)
        return
    prefix = f"qb{secrets.token_hex(6)}"
    for n in itertools.count():
        yield RequestItem(spec.path, key=f"{prefix}-{n}" if spec.unique_keys else "")


async def _run(spec: LoadSpec) -> LoadResult:
    items = _items(spec)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    deadline = time.monotonic() + spec.duration_s
    limits = httpx.Limits(
        max_connections=spec.connections, max_keepalive_connections=spec.connections
    )

    async def worker(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            item = next(items, None)
            if item is None:
                return
            headers = dict(spec.headers)
            if item.token:
                headers["Authorization"] = f"Bearer {item.token}"
            if item.key:
                headers["Idempotency-Key"] = item.key
            body = item.body or spec.body
            started = time.perf_counter()
            try:
                response = await client.request(
                    spec.method, item.path, content=body.encode() if body else None, headers=headers
                )
            except httpx.TimeoutException:
                errors["timeout"] += 1
                continue
            except httpx.HTTPError:
                errors["read"] += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] += 1
            if response.status_code >= 400:
                errors["status"] += 1

    async with httpx.AsyncClient(
        base_url=spec.base_url, limits=limits, timeout=spec.timeout_s
    ) as client:
        started = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(spec.connections)))
        elapsed = time.monotonic() - started
    return LoadResult(
        tool="httpx",
        requests=len(latencies),
        duration_s=elapsed,
        errors={k: errors.get(k, 0) for k in ("connect", "read", "write", "status", "timeout")},
        statuses=dict(statuses),
        latency_ms={
            "min": round(min(latencies, default=0.0), 3),
            "mean": round(sum(latencies) / len(latencies), 3) if latencies else 0.0,
            "max": round(max(latencies, default=0.0), 3),
            "p50": round(percentile(latencies, 50), 3),
            "p90": round(percentile(latencies, 90), 3),
            "p99": round(percentile(latencies, 99), 3),
            "p999": round(percentile(latencies, 99.9), 3),
        },
        sent=len(latencies) + sum(errors.values()) - errors.get("status", 0),
    )


def run(spec: LoadSpec) -> LoadResult:
    return asyncio.run(_run(spec))
