"""Racing real threads: the one helper every concurrency test uses."""

from __future__ import annotations

import threading
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
