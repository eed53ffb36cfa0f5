"""``quan lottery verify``: recompute a lottery draw from the public endpoints alone.

Uses only HTTP (httpx) and the pure algorithm in :mod:`quan.domain.lottery`: no database. It
fetches ``GET /api/v1/batches/{id}/lottery`` and every page of
``GET /api/v1/batches/{id}/lottery/registrants``, then checks that the seed matches the
commitment, that the registrant list matches the digest, that the general pool's k is its base
plus the places the reserved pools left unfilled, and that the winners of every pool are exactly
those ``quan-lottery-v1`` gives. Any mismatch → exit code 1, with one line per mismatch.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from quan.domain import lottery as algo
from quan.domain.errors import QuanError
from quan.domain.lottery_verify import verify_draw

app = typer.Typer(help="The verifiable lottery (quan-lottery-v1).", no_args_is_help=True)

API = "/api/v1"


def _get(client: httpx.Client, path: str, **params: Any) -> Any:
    response = client.get(f"{API}{path}", params=params or None)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
    return response.json()


def fetch(client: httpx.Client, batch_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The public lottery record and the full registrant list."""
    record = _get(client, f"/batches/{batch_id}/lottery")
    registrants: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = _get(client, f"/batches/{batch_id}/lottery/registrants", **params)
        registrants.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return record, registrants


def check(record: dict[str, Any], registrants: list[dict[str, Any]]) -> list[str]:
    """Every way the published draw differs from the recomputed one (empty: it agrees)."""
    if record.get("algorithm") != algo.ALGORITHM:
        return [f"unknown algorithm {record.get('algorithm')!r}"]
    if record.get("seed") is None:
        return ["the lottery has not been drawn yet (no seed published)"]
    try:
        seed = bytes.fromhex(record["seed"])
    except ValueError:
        return ["the published seed is not hex"]
    problems: list[str] = []
    if len(registrants) != record.get("registrants"):
        problems.append(
            f"registrant count: published {record.get('registrants')}, listed {len(registrants)}"
        )
    entries = [algo.Registrant(r["pseudonym"], int(r["tickets"])) for r in registrants]
    pools_in: list[dict[str, Any]] = record["pools"]
    members: dict[str, set[str]] = {p["name"]: set() for p in pools_in if p["reserved"]}
    for r in registrants:
        for g in r.get("groups", []):
            if g in members:
                members[g].add(r["pseudonym"])
    reserved = [
        algo.Pool(p["name"], int(p["base_k"]), frozenset(members[p["name"]]))
        for p in pools_in
        if p["reserved"]
    ]
    general = [p for p in pools_in if not p["reserved"]]
    if len(general) != 1:
        return [*problems, "the published pools do not have exactly one general pool"]
    base = int(general[0]["base_k"])
    try:
        first = algo.draw(seed, entries, [*reserved, algo.Pool(general[0]["name"], base)])
    except QuanError as exc:
        return [*problems, f"the published data cannot be drawn: {exc.code} {exc.params}"]
    released = sum(r.unfilled for r in first.pools if r.name != general[0]["name"])
    if int(general[0]["k"]) != base + released:
        problems.append(
            f"general pool k: published {general[0]['k']}, expected {base} + {released} released"
        )
    pools = [*reserved, algo.Pool(general[0]["name"], base + released)]
    published = record.get("winners") or {}
    try:
        mismatches = verify_draw(
            record["commitment"], seed, entries, pools, published, record["registrants_digest"]
        )
    except QuanError as exc:
        return [*problems, f"the published data cannot be drawn: {exc.code} {exc.params}"]
    for m in mismatches:
        if m.what == "winner" and m.published is None:
            problems.append(f"pool {m.pool}: {m.expected} should have won but is not published")
        elif m.what == "winner":
            problems.append(f"pool {m.pool}: {m.published} is published but did not win")
        else:
            problems.append(
                f"{m.what}{f' (pool {m.pool})' if m.pool else ''}: "
                f"expected {m.expected}, published {m.published}"
            )
    return problems


def verify_with(client: httpx.Client, batch_id: str) -> list[str]:
    record, registrants = fetch(client, batch_id)
    return check(record, registrants)


@app.command("verify")
def verify(
    url: Annotated[str, typer.Option("--url", help="The server's base URL")],
    batch: Annotated[str, typer.Option("--batch", help="The lottery batch id")],
) -> None:
    """Recompute commitment, registrants digest and winners from the public endpoints."""
    with httpx.Client(base_url=url, timeout=60) as client:
        run(client, batch)


def run(client: httpx.Client, batch_id: str) -> None:
    """Verify and exit: 0 when the draw agrees, 1 on any mismatch, 2 when it cannot be read."""
    try:
        problems = verify_with(client, batch_id)
    except (RuntimeError, httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
        typer.echo(f"cannot verify batch {batch_id}: {exc}", err=True)
        raise typer.Exit(2) from None
    if problems:
        typer.echo(f"MISMATCH: the lottery of batch {batch_id} does not verify:", err=True)
        for p in problems:
            typer.echo(f"  - {p}", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: the lottery of batch {batch_id} verifies ({algo.ALGORITHM}).")
