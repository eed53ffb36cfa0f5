"""``quan alerts list|ack|evaluate``: the alerts of ``GET /api/v1/alerts`` from the shell.

``list`` reads as the system (shell access to the server is the admin); ``ack`` acts as a named
staff account (``--as``), whose issuer must own the alert's program, so the record says who
acknowledged. ``evaluate`` runs the ``alerts`` job once (what ``quan worker`` does every 15 s).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from quan.cli.issuance import _runtime

app = typer.Typer(help="Alerts: list, acknowledge, evaluate now.", no_args_is_help=True)
err = Console(stderr=True)


def _out() -> Console:
    # Made per command, not at import: the width (COLUMNS, the terminal) is the one of this run,
    # so that the table is not cropped to a width read when some other command was imported.
    return Console()


@app.command("list")
def list_alerts(
    program: Annotated[str | None, typer.Option(help="Only this program's alerts")] = None,
    state: Annotated[
        str, typer.Option(help="open (pending or firing), pending, firing, resolved or all")
    ] = "open",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """Alerts, newest first."""
    from quan.domain.auth import Actor
    from quan.services.operations import alerts

    if state not in alerts.STATE_FILTERS:
        err.print(
            f"[red]VALIDATION_FAILED[/red]: state must be one of {', '.join(alerts.STATE_FILTERS)}"
            f" / 状态只能是 {', '.join(alerts.STATE_FILTERS)}"
        )
        raise typer.Exit(2)
    rt = _runtime()
    system = Actor(kind="system", id="quan", role="admin")
    with rt.db.read() as tx:
        found = alerts.list_alerts(tx, system, program_id=program, state=state, limit=limit)
    if not found:
        _out().print("no alerts / 没有告警")
        return
    table = Table("severity", "rule", "program", "labels", "value", "since", "ack")
    table.add_column("state", no_wrap=True, min_width=8)  # firing, pending, resolved: whole
    table.add_column("id", no_wrap=True, min_width=30)  # last, whole: what `quan alerts ack` takes
    for a in found:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()))
        table.add_row(
            a.severity, a.rule_name, a.program_id or "*", labels,
            f"{a.value:.4g} {a.comparator} {a.threshold:.4g}",
            f"{a.started_at:%Y-%m-%d %H:%M}Z", a.acked_by or "", a.state, a.id,
        )  # fmt: skip
    _out().print(table)


@app.command("ack")
def ack(
    alert_id: Annotated[str, typer.Argument(help="The alert's id (alt_…)")],
    note: Annotated[str, typer.Option("--note", help="What was done about it")],
    username: Annotated[str, typer.Option("--as", help="Your staff account's sign-in name")],
) -> None:
    """Acknowledge an alert with a note, as a staff account (operator or admin)."""
    from quan.domain.auth import Role
    from quan.domain.errors import FORBIDDEN, QuanError
    from quan.services.operations import alerts
    from quan.services.people import staff

    rt = _runtime()
    try:
        with rt.db.write() as tx:
            user = staff.find_by_username(tx, username)
            if not user.active or user.role not in (Role.ADMIN, Role.OPERATOR):
                raise QuanError(FORBIDDEN)
            done = alerts.acknowledge(tx, rt.clock.now(), user.actor(), alert_id, note)
    except QuanError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message('en')} / {exc.message('zh')}")
        raise typer.Exit(1) from exc
    _out().print(f"acknowledged {done.id} ({done.rule_name}) by {done.acked_by}")


@app.command("evaluate")
def evaluate() -> None:
    """Evaluate every alert rule once now."""
    from quan.services.operations import alerts
    from quan.services.people.citizens import CitizenKeys

    rt = _runtime()
    keys = CitizenKeys.from_settings(rt.settings).outbox
    run = alerts.evaluate(rt.db, rt.clock.now(), keys, rt.settings.message_locale)
    _out().print(
        f"{run.rules} rules: {run.raised} raised, {run.fired} fired, {run.resolved} resolved, "
        f"{run.messages} messages queued"
    )
