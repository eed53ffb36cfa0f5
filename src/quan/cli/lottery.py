"""``quan lottery verify``: recompute a lottery draw from public data alone; ``quan lottery
beacon``: enter a quan-lottery-v2 lottery's public value (the second person).

``verify`` uses only HTTP (httpx) and the pure algorithms in :mod:`quan.domain`: no database. It
fetches ``GET /api/v1/batches/{id}/lottery`` and every page of
``GET /api/v1/batches/{id}/lottery/registrants``. For ``quan-lottery-v1`` it checks that the seed
matches the commitment, that the registrant list matches the digest, that the general pool's k is
its base plus the places the reserved pools left unfilled, and that the winners of every pool are
exactly those the algorithm gives. For ``quan-lottery-v2`` it rebuilds the registrant list from
the transparency log instead and trusts the server's list for nothing
(:func:`quan.verify.lottery.verify_v2`). Any mismatch → exit code 1, with one line per mismatch;
data that cannot be read → 2.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from quan.domain import lottery as algo
from quan.domain import lottery_v2 as v2
from quan.verify.errors import BAD_RESPONSE, UNREACHABLE, VerificationError
from quan.verify.lottery import verify_v2, winners_problems

app = typer.Typer(help="The verifiable lottery (quan-lottery-v1 and -v2).", no_args_is_help=True)

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
    members: dict[str, set[str]] = {p["name"]: set() for p in record["pools"] if p["reserved"]}
    for r in registrants:
        for g in r.get("groups", []):
            if g in members:
                members[g].add(r["pseudonym"])
    problems.extend(winners_problems(record, seed, entries, members, record["commitment"]))
    return problems


def verify_with(client: httpx.Client, batch_id: str, *, key: str | None = None) -> list[str]:
    """Every finding about the batch's draw (empty: it verifies); ``key`` pins the log's key."""
    return _verify(client, batch_id, key)[1]


def _verify(client: httpx.Client, batch_id: str, key: str | None) -> tuple[str, list[str]]:
    record, registrants = fetch(client, batch_id)
    algorithm = str(record.get("algorithm"))
    if algorithm == v2.ALGORITHM:
        return algorithm, verify_v2(client, batch_id, record, registrants, pinned_key=key)
    return algorithm, check(record, registrants)


@app.command("verify")
def verify(
    url: Annotated[str, typer.Option("--url", help="The server's base URL")],
    batch: Annotated[str, typer.Option("--batch", help="The lottery batch id")],
    key: Annotated[
        str | None,
        typer.Option("--key", help="quan-lottery-v2: the log's verifier key, obtained elsewhere"),
    ] = None,
) -> None:
    """Recompute commitment, registrants digest and winners from public data (v2: from the
    transparency log, with its signed checkpoints and proofs)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        run(client, batch, key=key)


def run(client: httpx.Client, batch_id: str, *, key: str | None = None) -> None:
    """Verify and exit: 0 when the draw agrees, 1 on any mismatch, 2 when it cannot be read."""
    try:
        algorithm, problems = _verify(client, batch_id, key)
    except VerificationError as exc:
        if exc.reason in (BAD_RESPONSE, UNREACHABLE):
            typer.echo(f"cannot verify batch {batch_id}: {exc}", err=True)
            raise typer.Exit(2) from None
        problems = [str(exc)]
    except (RuntimeError, httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
        typer.echo(f"cannot verify batch {batch_id}: {exc}", err=True)
        raise typer.Exit(2) from None
    if problems:
        typer.echo(f"MISMATCH: the lottery of batch {batch_id} does not verify:", err=True)
        for p in problems:
            typer.echo(f"  - {p}", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: the lottery of batch {batch_id} verifies ({algorithm}).")


@app.command("beacon")
def beacon(
    url: Annotated[str, typer.Option("--url", help="The server's base URL")],
    batch: Annotated[str, typer.Option("--batch", help="The quan-lottery-v2 batch id")],
    value: Annotated[str, typer.Option("--value", help="The public value, exactly as published")],
    source: Annotated[
        str, typer.Option("--source", help="Its source: a named beacon's round, a dated figure")
    ],
    username: Annotated[str, typer.Option("--username", help="Your staff sign-in name")],
    password: Annotated[
        str | None,
        typer.Option(envvar="QUAN_PASSWORD", help="Prompted for when omitted", show_default=False),
    ] = None,
) -> None:
    """Enter a quan-lottery-v2 lottery's public value after registration closes, as the second
    person (never whoever created the lottery), through the API as that staff member."""
    if password is None:
        password = typer.prompt("Password", hide_input=True)
    with httpx.Client(base_url=url, timeout=60) as client:
        enter_beacon(
            client, batch, value=value, source=source, username=username, password=password
        )


def enter_beacon(
    client: httpx.Client, batch: str, *, value: str, source: str, username: str, password: str
) -> None:
    """Sign in as ``username`` and enter the public value; exit 1 when refused, 2 when the
    sign-in fails (the refusal's code and words are printed)."""
    signed_in = client.post(f"{API}/auth/token", json={"username": username, "password": password})
    if signed_in.status_code != 200:
        typer.echo(f"cannot sign in: {signed_in.status_code} {signed_in.text[:200]}", err=True)
        raise typer.Exit(2)
    token = signed_in.json()["access_token"]
    answer = client.post(
        f"{API}/batches/{batch}/lottery/beacon",
        json={"value": value, "source": source},
        headers={"Authorization": f"Bearer {token}"},
    )
    if answer.status_code != 200:
        body = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
        typer.echo(
            f"refused ({answer.status_code} {body.get('code', '')}): "
            f"{body.get('detail', answer.text[:200])}",
            err=True,
        )
        raise typer.Exit(1)
    close = answer.json()["close_checkpoint"]
    typer.echo(
        f"OK: the public value of batch {batch} is recorded; the close checkpoint is size "
        f"{close['size']}, root {close['root']}."
    )
