"""``quan settle`` (settle programs up to a cut-off) and ``quan terminal verify`` (check an offline
voucher token with no network).

Registered in :mod:`quan.cli` as one unnamed sub-app, so both commands appear at the top level.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from quan.config import ConfigError, load_settings
from quan.domain.errors import QuanError
from quan.services.runtime import Runtime

if TYPE_CHECKING:
    from quan.services.settlement.settlement import SettlementRun

app = typer.Typer(add_completion=False)
terminal_app = typer.Typer(help="What a cashier terminal does offline.", no_args_is_help=True)
app.add_typer(terminal_app, name="terminal")

out = Console()
err = Console(stderr=True)

LEASE = "settlement"
# What `quan settle --all` passes over quietly: settled already, not over yet, the program
# started after the day, or nothing happened (the next run covers the day anyway).
SKIPPED_BY_ALL = frozenset(
    {"SETTLEMENT_EXISTS", "CUT_OFF_NOT_PASSED", "CUT_OFF_BEFORE_START", "NOTHING_TO_SETTLE"}
)


def _runtime() -> Runtime:
    try:
        return Runtime.build(load_settings())
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _fail(exc: QuanError) -> typer.Exit:
    err.print(f"[red]{exc.code}[/red]: {exc.message('en')} / {exc.message('zh')}")
    return typer.Exit(1)


@app.command("settle")
def settle(
    program: Annotated[
        str | None, typer.Option("--program", help="Program id (prg_…); omit with --all")
    ] = None,
    cut_off: Annotated[
        str | None,
        typer.Option("--cut-off", help="Last local day to settle, YYYY-MM-DD (default: yesterday)"),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every program not yet settled up to the cut-off")
    ] = False,
) -> None:
    """Settle redemptions up to the end of a day in each program's time zone: one statement per
    merchant, holds applied, reserve unused by settled vouchers released. Runs as the system;
    payouts are then confirmed by an operator (POST /settlements/{id}/payouts)."""
    from quan.domain.auth import SYSTEM
    from quan.jobs.lease import acquire, release
    from quan.services.settlement import settlement
    from quan.store.tables import programs

    if (program is None) == (not every):
        err.print("give --program ID, or --all")
        raise typer.Exit(2)
    day: date | None = None
    if cut_off is not None:
        try:
            day = date.fromisoformat(cut_off)
        except ValueError as exc:
            err.print(f"[red]--cut-off must be YYYY-MM-DD[/red], not {cut_off!r}")
            raise typer.Exit(2) from exc
    rt = _runtime()
    targets = [program] if program else []
    if every:
        with rt.db.read() as tx:
            targets = list(
                tx.execute(
                    select(programs.c.id)
                    .where(programs.c.status != "draft")
                    .order_by(programs.c.id)
                ).scalars()
            )
    holder = f"cli-{secrets.token_hex(4)}"
    if not acquire(rt.db, LEASE, holder, rt.clock.now(), timedelta(minutes=30)):
        err.print("another worker is settling now; nothing done")
        raise typer.Exit(1)
    failed = False
    try:
        for program_id in targets:
            try:
                with out.status(f"settling {program_id} …"):
                    run = settlement.settle(rt.db, rt.clock, SYSTEM, program_id, day)
            except QuanError as exc:
                if every and exc.code in SKIPPED_BY_ALL:
                    continue
                failed = True
                err.print(f"{program_id}: [red]{exc.code}[/red] {exc.message('en')}")
                continue
            _show(run)
    finally:
        release(rt.db, LEASE, holder, rt.clock.now())
    if failed:
        raise typer.Exit(1)


def _show(run: SettlementRun) -> None:
    from quan.domain.money import format_yuan

    table = Table(
        title=f"settlement {run.id} (program {run.program_id}, run {run.seq})", show_header=False
    )
    table.add_column(overflow="fold")
    table.add_column(overflow="fold")  # ids and dates whole, never cut
    start = run.window_start.isoformat() if run.window_start else "the beginning"
    rows = [
        ("window", f"{start} – {run.cut_off.isoformat()} (up to {run.cut_off_date})"),
        ("merchants", str(run.merchants)),
        ("redemptions", str(run.redemption_count)),
        ("redeemed", format_yuan(run.window_fen)),
        ("carried in", format_yuan(run.carried_fen)),
        ("held", format_yuan(run.held_fen)),
        ("to pay", format_yuan(run.payout_fen)),
        ("reserve released", format_yuan(run.remainder_fen)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)


@terminal_app.command("verify")
def verify(
    token: Annotated[str, typer.Argument(help="The QR payload as scanned (QV1:…)")],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            help="The keys document of GET /api/v1/offline/keys, or a base64 public key; "
            "default: this installation's own key",
        ),
    ] = None,
) -> None:
    """Verify an offline voucher token's signature and show what it says, with no network."""
    from quan.domain import offline_token
    from quan.domain.money import format_yuan
    from quan.terminal.keys import KeyringError, load_keyring

    if key is not None:
        try:
            keyring = load_keyring(key.read_text())
        except (OSError, KeyringError) as exc:
            err.print(f"[red]cannot use {key}:[/red] {exc}")
            raise typer.Exit(2) from exc
    else:
        from quan.services.merchants.offline_keys import offline_key

        try:
            keyring = offline_key(load_settings()).keyring
        except ConfigError as exc:
            err.print(f"[red]configuration error:[/red] {exc}")
            raise typer.Exit(2) from exc
    try:
        claims = offline_token.verify(token, keyring)
    except QuanError as exc:
        raise _fail(exc) from exc
    from quan.clock import SystemClock
    from quan.services.runtime import runtime_clock

    try:  # the development clock, when it is moved; the system's wherever settings fail
        now = runtime_clock(load_settings()).now()
    except ConfigError:
        now = SystemClock().now()
    state = (
        "not yet valid"
        if now < claims.valid_from
        else "expired"
        if now >= claims.valid_until
        else "valid now"
    )
    d = claims.discount
    value = (
        f"{d.percent_off}% off, at most {format_yuan(claims.value_fen)}"
        if d.percent_off is not None
        else f"{format_yuan(claims.value_fen)} off"
    )
    scope = (
        claims.scope_kind.value
        + (f" {list(claims.region_codes)}" if claims.region_codes else "")
        + ("" if claims.scope_listed else " (list checked by the server)")
    )
    table = Table(title="genuine voucher token", show_header=False)
    table.add_column(overflow="fold")
    table.add_column(overflow="fold")  # ids and dates whole, never cut
    for name, shown in (
        ("voucher", claims.voucher_id),
        ("value", value),
        ("minimum spend", format_yuan(d.min_spend_fen)),
        ("categories", ", ".join(claims.categories)),
        ("scenes", ", ".join(s.value for s in claims.scenes)),
        ("merchant scope", scope),
        ("valid", f"{claims.valid_from.isoformat()} – {claims.valid_until.isoformat()} ({state})"),
        ("token made", claims.issued_at.isoformat()),
        ("key id", claims.key_id),
    ):
        table.add_row(name, shown)
    out.print(table)
