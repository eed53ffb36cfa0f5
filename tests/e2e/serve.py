"""``quan serve`` for the end-to-end tests, with a clock the test can move forward.

Run as ``python -m tests.e2e.serve PORT``. It serves exactly the app ``quan serve`` serves
(:func:`quan.api.app.create_app` with the settings from the environment, one uvicorn worker as
on SQLite), except that the runtime's clock is the system clock plus an offset read from
``$QUAN_VAR_DIR/e2e-clock-offset`` (seconds; absent means none). The story moves it forward to
reach what only time brings: a registration window that closes before the draw, a day that is
over before settlement.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

OFFSET_FILE = "e2e-clock-offset"


class ShiftedClock:
    """The system clock plus the offset in ``path`` (re-read when the file changes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: float | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        try:
            stamp = self.path.stat().st_mtime
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            text = self.path.read_text().strip() if stamp is not None else ""
            self._offset = timedelta(seconds=float(text or 0))
            self._stamp = stamp
        return datetime.now(UTC) + self._offset


def shift(var_dir: Path, seconds: float) -> None:
    """Move the served clock ``seconds`` further (the test process calls this)."""
    path = var_dir / OFFSET_FILE
    current = float(path.read_text().strip() or 0) if path.exists() else 0.0
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(current + seconds))
    tmp.replace(path)


def main(port: int) -> None:
    import uvicorn

    from quan.api.app import create_app
    from quan.config import load_settings
    from quan.services.runtime import Runtime

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    runtime = Runtime.build(settings, clock=ShiftedClock(settings.var_dir / OFFSET_FILE))
    uvicorn.run(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="info")


if __name__ == "__main__":
    main(int(sys.argv[1]))
