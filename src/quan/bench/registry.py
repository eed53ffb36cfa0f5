"""How a benchmark is declared: a name, its parameters with defaults, and one function.

``run(ctx, params) -> BenchResult`` does everything for one database kind: gets a fresh
database, seeds it, starts the server, loads it, reads the outcome back. It raises
:class:`Pending` while the code path it measures does not exist yet; the suite then records the
benchmark as pending (with the reason) instead of failing. ``requires`` names the modules that
path lives in, so a benchmark becomes runnable as soon as they land and its body is filled in.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from quan.bench.databases import POSTGRES, SQLITE

if TYPE_CHECKING:
    from quan.bench.context import BenchContext
    from quan.bench.contract import BenchResult

Params = dict[str, Any]
Runner = Callable[["BenchContext", Params], "BenchResult"]


class Pending(Exception):  # noqa: N818 - a state, not an error: the path is not built yet
    """The benchmark cannot run yet; the message says what it waits for."""


@dataclass(frozen=True)
class Benchmark:
    name: str
    summary: str
    run: Runner
    params: Mapping[str, int | float | str] = field(default_factory=dict)
    quick_params: Mapping[str, int | float | str] = field(default_factory=dict)
    # Sizes per database kind, over ``params``: SQLite (one writer, one worker) takes the same
    # load for longer, so some benchmarks shrink there to keep ``make bench`` in bounds.
    per_database: Mapping[str, Mapping[str, int | float | str]] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    http: bool = True  # its throughput is compared with the HTTP ceilings too
    storage_ratio: bool = True  # ... and with the storage ceiling (claims/s)
    databases: tuple[str, ...] = (POSTGRES, SQLITE)  # () = uses no database: run once

    def missing(self) -> list[str]:
        """Required modules that do not exist (yet)."""
        out = []
        for module in self.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except ModuleNotFoundError:
                found = False
            if not found:
                out.append(module)
        return out

    def resolve(
        self, overrides: Mapping[str, str], *, quick: bool, database: str | None = None
    ) -> Params:
        """Defaults, the database's sizes, the quick sizes, then ``--set name=value`` (typed like
        the default)."""
        params: Params = dict(self.params)
        if database is not None:
            params.update(self.per_database.get(database, {}))
        if quick:
            params.update(self.quick_params)
        for name, text in overrides.items():
            if name not in self.params:
                known = ", ".join(sorted(self.params)) or "none"
                raise ValueError(f"{self.name} has no parameter {name!r} (it has: {known})")
            default = self.params[name]
            params[name] = (
                type(default)(text.replace("_", "")) if not isinstance(default, str) else text
            )
        return params
