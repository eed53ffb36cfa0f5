"""Racing real threads: the one helper every concurrency test uses."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def race(*work: Callable[[], Any]) -> list[Any]:
    """Run each callable in its own thread, released together by a Barrier; results or errors."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work[i]()
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


class Overlap:
    """Two transactions that must overlap: the first, once it holds its rows, stays open until
    the second has finished (it did not need them) or its PostgreSQL session waits on a lock
    (ours: our commit lets it go on). Neither a fixed sleep nor a barrier: the second may block
    inside the database, where no barrier reaches."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.first_holds = threading.Event()
        self.second_done = threading.Event()
        self.second_pid: int | None = None

    def hold(self, limit: float = 30.0) -> None:
        """Called by the first, inside its transaction, after its writes."""
        from sqlalchemy import text

        self.first_holds.set()
        deadline = time.monotonic() + limit
        while not self.second_done.wait(timeout=0.02) and time.monotonic() < deadline:
            if self.second_pid is None:
                continue
            with self.db.read() as tx:
                state = tx.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :p"),
                    {"p": self.second_pid},
                ).scalar()
            if state == "Lock":
                return

    def second_starts(self, tx: Any) -> None:
        """Called by the second, first thing in its transaction."""
        from sqlalchemy import text

        self.second_pid = int(tx.execute(text("SELECT pg_backend_pid()")).scalar_one())
