"""The ``quan`` command line (Typer): one module per command group.

:mod:`quan.cli.root` is the root command (``serve``, ``db``, ``users``, ``issuers``, ``ledger``,
``demo``) and mounts the groups: :mod:`~quan.cli.audit` (``audit verify``, ``log sequence``),
:mod:`~quan.cli.citizens`, :mod:`~quan.cli.issuance` (``jobs recycle``, ``batches show``),
:mod:`~quan.cli.worker` (``worker``, ``jobs status``),
:mod:`~quan.cli.bench`, :mod:`~quan.cli.settlement` (``settle``, ``terminal verify``),
:mod:`~quan.cli.report` and :mod:`~quan.cli.lottery`.
"""

from quan.cli.root import app, main

__all__ = ["app", "main"]
