"""``quan``: the operator's command line (serve, migrate, accounts, ledger checks, demo)."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console

from quan import __version__
from quan.cli import audit as cli_audit
from quan.cli import bench as cli_bench
from quan.cli import issuance as cli_issuance
from quan.cli import operations as cli_operations
from quan.cli import report as cli_report
from quan.cli import settlement as cli_settlement
from quan.cli import worker as cli_worker
from quan.cli.alerts import app as alerts_app
from quan.cli.citizens import citizens_app
from quan.cli.lottery import app as lottery_app
from quan.cli.partners import app as partners_app
from quan.config import ConfigError, Settings, load_settings
from quan.domain.auth import Role
from quan.domain.errors import QuanError
from quan.services.runtime import Runtime

app = typer.Typer(
    help="Quan (券): run service consumption voucher programs.",
    no_args_is_help=True,
    add_completion=False,
    # Plain help: flags read as flags (--dry-run, not --dry-run <bool>) and docstrings are
    # re-flowed to the terminal instead of keeping their source line breaks.
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
issuers_app = typer.Typer(help="Issuers (the bodies that run programs).", no_args_is_help=True)
ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
outbox_app = typer.Typer(help="Messages waiting to be sent (sealed).", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data for trying Quan out.", no_args_is_help=True)
dev_app = typer.Typer(help="Development helpers (refused in production).", no_args_is_help=True)
clock_app = typer.Typer(
    help="The development clock: move time forward to try cut-offs, draws and expiry.",
    no_args_is_help=True,
)
dev_app.add_typer(clock_app, name="clock")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(issuers_app, name="issuers")
app.add_typer(ledger_app, name="ledger")
app.add_typer(outbox_app, name="outbox")
app.add_typer(demo_app, name="demo")
app.add_typer(dev_app, name="dev")  # `quan dev clock show|advance|reset`
app.add_typer(cli_audit.app)  # `quan audit verify`, `quan log sequence`
app.add_typer(citizens_app, name="citizens")
app.add_typer(cli_issuance.app)  # `quan jobs recycle|status`, `quan batches show`
app.add_typer(cli_worker.app)  # `quan worker`
app.add_typer(cli_bench.app, name="bench")  # `quan bench NAME|suite|ceilings|list`
app.add_typer(cli_settlement.app)  # `quan settle`, `quan terminal verify`
app.add_typer(cli_report.app, name="report")  # `quan report fairness`
app.add_typer(lottery_app, name="lottery")  # `quan lottery verify --url BASE --batch ID`
app.add_typer(cli_operations.app)  # `quan backup create|restore`, `quan keys …`
app.add_typer(partners_app, name="partners")  # `quan partners create|list|revoke`
app.add_typer(alerts_app, name="alerts")  # `quan alerts list|ack|evaluate`

out = Console()
err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"quan {__version__}", highlight=False)
        raise typer.Exit


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """Quan (券): run service consumption voucher programs."""


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _runtime() -> Runtime:
    return Runtime.build(_settings())


def _fail(exc: QuanError) -> typer.Exit:
    err.print(f"[red]{exc.code}[/red]: {exc.message('en')} / {exc.message('zh')}")
    return typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (default: 1 on SQLite, 2 on PostgreSQL)"),
    ] = None,
) -> None:
    """Serve the API and console (uvicorn, several workers on PostgreSQL)."""
    import uvicorn

    settings = _settings()
    rt = Runtime.build(settings)
    from quan.store.migrate import current_revision, head_revision

    if current_revision(rt.db) != head_revision():
        err.print("[red]the database schema is not current:[/red] run `quan db upgrade` first")
        raise typer.Exit(2)
    if workers is None:
        # SQLite has one writer at a time: one process funnels writes better than several
        # processes fighting for the lock.
        workers = 1 if rt.db.dialect == "sqlite" else 2
    rt.db.dispose()
    if workers > 1:
        # Each worker process counts in files here; /metrics sums them (quan.metrics).
        from quan.metrics import prepare_multiprocess_dir

        prepare_multiprocess_dir(settings.var_dir / "metrics")
    out.print(f"Quan serving on http://{host}:{port} ({rt.db.dialect}, {workers} worker(s))")
    uvicorn.run(
        "quan.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply the schema migrations (safe to run again)."""
    from quan.store.migrate import current_revision, upgrade

    rt = _runtime()
    upgrade(rt.db, revision)
    out.print(f"database at revision {current_revision(rt.db)} ({rt.db.dialect})")


@issuers_app.command("create")
def issuers_create(
    name: Annotated[str, typer.Option(help="e.g. 杭州市商务局")],
    region_code: Annotated[str, typer.Option(help="6-digit GB/T 2260 code, e.g. 330100")],
) -> None:
    """Register an issuer and print its id."""
    from quan.domain.auth import SYSTEM
    from quan.services.money.issuers import create_issuer

    rt = _runtime()
    try:
        with rt.db.write() as tx:
            issuer = create_issuer(tx, rt.clock.now(), SYSTEM, name=name, region_code=region_code)
    except QuanError as exc:
        raise _fail(exc) from exc
    out.print(issuer.id)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="Sign-in name (lower case)")],
    role: Annotated[Role, typer.Option(help="admin | operator | auditor | agent")],
    password: Annotated[
        str | None,
        typer.Option(help="At least 12 characters; prompted for when omitted", show_default=False),
    ] = None,
    issuer: Annotated[
        str | None, typer.Option(help="Issuer id (operators and agents belong to one)")
    ] = None,
) -> None:
    """Create a staff account."""
    from quan.services.people.staff import create_user

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    rt = _runtime()
    try:
        with rt.db.write() as tx:
            user = create_user(
                tx,
                rt.clock.now(),
                username=username,
                password=password,
                role=role,
                issuer_id=issuer,
            )
    except QuanError as exc:
        raise _fail(exc) from exc
    out.print(f"created {user.role.value} {user.username} ({user.id})")


def _account(username: str, change: str) -> None:
    """Disable, enable or revoke the sessions of the account ``username``, as the system."""
    from quan.domain.auth import SYSTEM
    from quan.services.people import staff

    rt = _runtime()
    try:
        with rt.db.write() as tx:
            user = staff.find_by_username(tx, username)
            now = rt.clock.now()
            if change == "revoke":
                user = staff.revoke_sessions(tx, now, SYSTEM, user.id)
            else:
                user = staff.set_active(tx, now, SYSTEM, user.id, active=change == "enable")
    except QuanError as exc:
        raise _fail(exc) from exc
    state = "active" if user.active else "disabled"
    out.print(f"{user.username} ({user.id}): {state}; sessions before now end")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="Sign-in name")]) -> None:
    """Disable a staff account and end every session it has (its tokens stop working now)."""
    _account(username, "disable")


@users_app.command("enable")
def users_enable(username: Annotated[str, typer.Argument(help="Sign-in name")]) -> None:
    """Enable a disabled account again; it must sign in anew (no old token comes back)."""
    _account(username, "enable")


@users_app.command("revoke")
def users_revoke(username: Annotated[str, typer.Argument(help="Sign-in name")]) -> None:
    """End every session of an account now; it may sign in again."""
    _account(username, "revoke")


@outbox_app.command("purge")
def outbox_purge() -> None:
    """Erase the sealed recipient and body of every message older than
    QUAN_OUTBOX_RETENTION_HOURS (each new message already erases up to 100 of them)."""
    from quan.channels import outbox
    from quan.services.people.citizens import CitizenKeys

    rt = _runtime()
    keys = CitizenKeys.from_settings(rt.settings).outbox
    with rt.db.write() as tx:
        erased = outbox.purge(tx, rt.clock.now(), keys)
    out.print(f"erased {erased} message(s) older than {rt.settings.outbox_retention_hours} h")


@ledger_app.command("check")
def ledger_check(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every violation")] = False,
) -> None:
    """Verify every ledger invariant over the whole database; exit 1 on any violation."""
    from quan.services.money.ledger_check import check_ledger

    rt = _runtime()
    with rt.db.read() as tx:
        report = check_ledger(tx)
    out.print(report.summary(), highlight=False)
    if not report.ok:
        shown = report.violations if verbose else report.violations[:20]
        for line in shown:
            err.print(f"  - {line}", highlight=False)
        if len(shown) < len(report.violations):
            err.print(f"  ... {len(report.violations) - len(shown)} more (use --verbose)")
        raise typer.Exit(1)


@demo_app.command("seed")
def demo_seed(
    url: str = typer.Option(
        "http://127.0.0.1:8000", help="Where the server will answer (printed with the sign-ins)."
    ),
) -> None:
    """Seed the demo city program (idempotent) and print how to sign in as every role."""
    import time

    from quan.services.demo.seed import seed

    settings = _settings()
    if settings.is_production:
        err.print("[red]refusing to seed demo accounts in production[/red]")
        raise typer.Exit(2)
    started = time.monotonic()
    try:
        demo = seed(Runtime.build(settings))
    except QuanError as exc:
        raise _fail(exc) from exc
    took = f" in {time.monotonic() - started:.1f} s" if demo.created else " (already seeded)"
    # Lines, not a table: passwords and keys must come out whole, to be copied (never folded).
    say = functools.partial(out.print, highlight=False, soft_wrap=True)
    say("Quan demo — how to sign in as every role (development only):")
    for row in demo.sign_ins:
        say(f"  {row.role}: {row.who}\n      {row.how}")
    say(f"demo program: {demo.program_id or '—'} (issuer {demo.issuer_id}){took}")
    base = url.rstrip("/")
    say(f"console: {base}/ · API reference: {base}/docs")


def _dev_settings() -> Settings:
    settings = _settings()
    if settings.is_production:
        err.print(
            "[red]refusing in production:[/red] the development clock never moves a live program's"
            " time / 生产环境不允许调整开发时钟"
        )
        raise typer.Exit(2)
    return settings


def _show_clock(settings: Settings) -> None:
    from zoneinfo import ZoneInfo

    from quan.clock import format_offset
    from quan.services.runtime import runtime_clock

    clock = runtime_clock(settings)
    now = clock.now()
    offset = now - datetime.now(UTC)
    shown = format_offset(timedelta(seconds=round(offset.total_seconds())))
    out.print(
        f"now {now.isoformat(timespec='seconds')} UTC"
        f" ({now.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M} Asia/Shanghai),"
        f" offset {shown}",
        highlight=False,
    )


@clock_app.command("show")
def clock_show() -> None:
    """Print the development clock's time and its offset from the system clock."""
    _show_clock(_dev_settings())


@clock_app.command("advance")
def clock_advance(
    by: Annotated[str, typer.Argument(help="How far, e.g. +1d, 2h, 1d12h (units w d h m s)")],
) -> None:
    """Move the development clock forward; a running server follows within a second."""
    from quan.clock import parse_offset, read_offset_file, write_offset_file
    from quan.config import dev_clock_path

    settings = _dev_settings()
    try:
        delta = parse_offset(by)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if delta < timedelta(0):
        err.print("[red]the clock only moves forward here; use `quan dev clock reset`[/red]")
        raise typer.Exit(2)
    path = dev_clock_path(settings)
    write_offset_file(path, read_offset_file(path) + delta)
    _show_clock(settings)


@clock_app.command("reset")
def clock_reset() -> None:
    """Forget what `advance` added (QUAN_DEV_CLOCK_OFFSET, if set, still applies)."""
    from quan.config import dev_clock_path

    settings = _dev_settings()
    dev_clock_path(settings).unlink(missing_ok=True)
    _show_clock(settings)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
