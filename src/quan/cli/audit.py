"""``quan audit verify`` (check a log from outside) and ``quan log sequence`` (run the sequencer).

Registered in :mod:`quan.cli` as one unnamed sub-app, so both groups appear at the top level.
``audit verify`` needs no configuration and no database: only the site's URL.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

app = typer.Typer(add_completion=False)
audit_app = typer.Typer(help="Check Quan's transparency log from outside.", no_args_is_help=True)
log_app = typer.Typer(help="Run Quan's transparency log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(log_app, name="log")

out = Console()
err = Console(stderr=True)


def _base_url(url: str) -> str:
    # People paste the API root as often as the site root; both mean the same log.
    url = url.rstrip("/")
    return url.removesuffix("/api/v1")


@audit_app.command("verify")
def verify(
    url: Annotated[str, typer.Option(help="The Quan site, e.g. https://quan.example.gov.cn")],
    state: Annotated[
        Path | None,
        typer.Option(help="State file: pins the key, remembers the last verified checkpoint"),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(help="Expected verifier key (<name>+<id>+<base64>), obtained out of band"),
    ] = None,
    samples: Annotated[int, typer.Option(min=0, help="Random inclusion proofs to check")] = 16,
    full: Annotated[
        bool, typer.Option("--full", help="Download every entry even when resuming from a state")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds per HTTP request")] = 30.0,
) -> None:
    """Verify the log: signature, every entry against the root, proofs; exit 1 on any mismatch."""
    import httpx

    from quan.verify import VerificationError, verify_log

    columns = (
        TextColumn("entries"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with (
        httpx.Client(base_url=_base_url(url), timeout=timeout) as http,
        Progress(*columns, console=err, transient=True) as bar,
    ):
        task = bar.add_task("entries", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            outcome = verify_log(
                http, state_path=state, pinned_key=key, samples=samples, full=full, progress=advance
            )
        except VerificationError as exc:
            err.print(
                f"[bold red]VERIFICATION FAILED[/bold red] ({exc.reason}): {exc.message}",
                soft_wrap=True,
            )
            raise typer.Exit(1) from exc
    root = base64.b64encode(outcome.root_hash).decode()
    out.print(
        f"[green]OK[/green] log {outcome.origin} at size {outcome.tree_size}, root {root}",
        soft_wrap=True,
    )
    if outcome.previous_size is not None:
        proven = "consistency proof checked" if outcome.consistency_checked else "no growth"
        out.print(f"  grew from {outcome.previous_size} ({proven})")
    out.print(
        f"  {outcome.entries_checked} entries hashed, "
        f"{outcome.inclusion_proofs_checked} inclusion proofs checked"
    )
    if outcome.key_pinned_now:
        out.print(
            f"  pinned key {outcome.verifier_key} in {state}; compare it out of band",
            soft_wrap=True,
        )
    elif state is None and key is None:
        out.print(
            f"  key {outcome.verifier_key} was trusted on first use; pass --state to pin it",
            soft_wrap=True,
        )


@log_app.command("sequence")
def sequence(
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep running, sequencing new events as they come")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction")] = 10_000,
) -> None:
    """Append queued events to the log and sign a checkpoint (one sequencer at a time)."""
    from quan.config import ConfigError, load_settings
    from quan.jobs import sequencer
    from quan.services.runtime import Runtime

    try:
        rt = Runtime.build(load_settings())
    except ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if follow:
        stop = threading.Event()
        out.print("sequencing; Ctrl-C to stop")
        try:
            sequencer.run_forever(rt, stop, batch_size=batch_size)
        except KeyboardInterrupt:
            stop.set()
        return
    result = sequencer.run_once(rt, holder=sequencer.new_holder(), batch_size=batch_size)
    if not result.ran:
        err.print("another sequencer holds the lease; nothing done")
        raise typer.Exit(1)
    root = base64.b64encode(result.root_hash or b"").decode()
    out.print(
        f"appended {result.appended} event(s); log size {result.tree_size}, root {root}",
        soft_wrap=True,
    )
