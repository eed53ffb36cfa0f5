"""``quan partners create|list|revoke``: partner API clients (client credentials) from the shell.

The same service as ``POST /api/v1/partner-clients``; the secret is printed once, stored hashed.
The acting principal is the system (``system:quan``) — shell access to the server is the admin.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from quan.cli.issuance import _runtime

app = typer.Typer(help="Partner API clients (webhooks).", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who the client is, e.g. a bank's wallet")],
) -> None:
    """Create a client; its secret is shown now and never again."""
    from quan.domain.auth import SYSTEM
    from quan.services.delivery import partners

    rt = _runtime()
    with rt.db.write() as tx:
        issued = partners.create_client(tx, rt.clock.now(), SYSTEM, name)
    out.print(f"client_id     {issued.client.id}")
    out.print(f"client_secret {issued.secret}", soft_wrap=True)
    out.print("The secret is not stored in clear and cannot be shown again.")


@app.command("list")
def list_clients() -> None:
    """Every client, newest first (never a secret)."""
    from quan.services.delivery import partners

    rt = _runtime()
    with rt.db.read() as tx:
        clients = partners.list_clients(tx)
    for c in clients:
        state = f"revoked {c.revoked_at:%Y-%m-%d}" if c.revoked_at else "active"
        out.print(f"{c.id}  {state}  {c.created_at:%Y-%m-%d %H:%M}Z  {c.name}", soft_wrap=True)


@app.command("revoke")
def revoke(client_id: Annotated[str, typer.Argument(help="The client's id (pcl_…)")]) -> None:
    """Revoke a client: its tokens stop now and its webhook subscriptions are disabled."""
    from quan.domain.auth import SYSTEM
    from quan.domain.errors import QuanError
    from quan.services.delivery import partners

    rt = _runtime()
    try:
        with rt.db.write() as tx:
            partners.revoke_client(tx, rt.clock.now(), SYSTEM, client_id)
    except QuanError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message('en')} / {exc.message('zh')}")
        raise typer.Exit(1) from exc
    out.print(f"revoked {client_id}")
