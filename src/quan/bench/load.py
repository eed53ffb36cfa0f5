"""What a load is (:class:`LoadSpec`), what it measured (:class:`LoadResult`), and who makes it.

wrk is the load generator (C, event loop, a few percent of a core per 10k req/s); when it is not
installed the suite falls back to an asyncio httpx client in the harness process, which is
several times slower and so measures the client more than the server above a few thousand
requests per second. Every result names the generator it came from, and both run on this box.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WRK = "wrk"
HTTPX = "httpx"


@dataclass(frozen=True, slots=True)
class RequestItem:
    """One request of a feed: its path, bearer token and idempotency key (empty: none)."""

    path: str
    token: str = ""
    key: str = ""
    body: str = ""

    def line(self) -> str:
        fields = (self.path, self.token, self.key, self.body)
        if any(("\t" in f or "\n" in f) for f in fields):
            raise ValueError("feed fields cannot hold tabs or newlines")
        return "\t".join(fields)


@dataclass(frozen=True)
class LoadSpec:
    """One load against ``base_url``.

    Either one static request (``method``, ``path``, ``body``, ``headers``; with ``unique_keys``
    a fresh Idempotency-Key each time) or a ``feed`` of requests; with ``once`` each feed item is
    sent exactly once and the load ends when all are sent (or at ``duration_s``, whichever comes
    first), otherwise the feed is cycled for ``duration_s``.
    """

    base_url: str
    method: str = "GET"
    path: str = "/"
    body: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    feed: Sequence[RequestItem] | None = None
    once: bool = False
    unique_keys: bool = False
    count_statuses: bool = False
    duration_s: float = 5.0
    connections: int = 64
    threads: int = 2
    timeout_s: float = 10.0


@dataclass
class LoadResult:
    tool: str
    requests: int
    duration_s: float
    errors: dict[str, int]
    statuses: dict[int, int]
    latency_ms: dict[str, float]
    sent: int | None = None

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def transport_errors(self) -> int:
        return sum(v for k, v in self.errors.items() if k != "status")

    def count(self, *codes: int) -> int:
        return sum(self.statuses.get(code, 0) for code in codes)

    def figures(self) -> dict[str, float]:
        """The per-run figures every HTTP benchmark reports."""
        return {
            "requests_per_s": round(self.requests_per_s, 1),
            "p50_ms": self.latency_ms["p50"],
            "p90_ms": self.latency_ms["p90"],
            "p99_ms": self.latency_ms["p99"],
            "non_2xx": float(self.errors.get("status", 0)),
            "transport_errors": float(self.transport_errors),
        }


def wrk_version() -> str | None:
    path = shutil.which(WRK)
    if path is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - the wrk found on PATH, fixed argument
            [path, "-v"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    words = (done.stdout + done.stderr).split()
    return f"wrk {words[1]}" if len(words) > 1 else "wrk"


def choose_generator(preference: str = "auto") -> str:
    """``wrk`` when installed, else ``httpx``; ValueError if wrk is required but absent."""
    if preference == HTTPX:
        return HTTPX
    if wrk_version() is not None:
        return WRK
    if preference == WRK:
        raise ValueError("wrk is required (--generator wrk) but not installed: apt-get install wrk")
    return HTTPX


def run_load(spec: LoadSpec, generator: str, work_dir: Path) -> LoadResult:
    if generator == WRK:
        from quan.bench import wrk

        return wrk.run(spec, work_dir)
    from quan.bench import pyload

    return pyload.run(spec)


def describe_generator(generator: str, spec: LoadSpec) -> dict[str, Any]:
    tool = wrk_version() if generator == WRK else "httpx (asyncio fallback: wrk not installed)"
    return {
        "tool": tool,
        "threads": spec.threads if generator == WRK else 1,
        "connections": spec.connections,
        "same_host": True,
        "latency": "per response, as the client saw it",
    }
