"""The ``quan`` command line (Typer): one module per command group.

:mod:`quan.cli.root` is the root command (``serve``, ``db``, ``users``, ``issuers``, ``ledger``,
``demo``) and mounts the groups: :mod:`~quan.cli.audit` (``audit verify``, ``log sequence``),
:mod:`~quan.cli.citizens`, :mod:`~quan.cli.issuance` (``jobs recycle``, ``batches show``),
:mod:`~quan.cli.worker` (``worker``, ``jobs status``),
:mod:`~quan.cli.bench`, :mod:`~quan.cli.settlement` (``settle``, ``terminal verify``),
:mod:`~quan.cli.report`, :mod:`~quan.cli.lottery` and the others.

The root is imported only when it is used, so that importing one group (the independent
verifier's ``quan.cli.audit``, for one) does not import the whole platform.
"""

from __future__ import annotations

from typing import Any


def main() -> None:
    """The ``quan`` entry point."""
    from quan.cli.root import main as run

    run()


def __getattr__(name: str) -> Any:
    if name == "app":  # the root Typer app, for tests and embedding
        from quan.cli.root import app

        return app
    raise AttributeError(name)
