"""The whole schema: importing this module registers every table on ``metadata``.

Each aggregate may keep its tables in a module of its own; list it here so that migrations,
tests and checks see every table.
"""

from __future__ import annotations

from quan.store import tables
from quan.store.tables import metadata

__all__ = ["metadata", "tables"]
