"""A server under test: started as its own process, awaited until healthy, measured, stopped.

The harness starts exactly what production runs — ``quan serve --workers N`` (uvicorn, one
supervisor and N worker processes) or, for the ceilings, the same uvicorn options around a
trivial app — in a new session, so that stopping it reaches every worker. Readiness is the
health URL answering *and* every worker having logged its start, so no run starts against a
half-started server. Peak memory comes from each process's high-water mark just before the stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from quan.bench.procs import ProcessMemory, tree_memory

STARTED_LINE = "Application startup complete"
HEALTH_PATH = "/api/v1/health"


class ServerError(RuntimeError):
    """The server did not start (or answer); the message ends with its last log lines."""


def free_port() -> int:
    # Ask the kernel for an unused loopback port; the tiny race until uvicorn binds it is
    # acceptable on a machine where only the harness starts servers.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ServerSpec:
    label: str
    argv: list[str]
    env: Mapping[str, str]
    port: int
    workers: int
    log_path: Path
    health_path: str = HEALTH_PATH

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def quan_serve(env: Mapping[str, str], workers: int, log_path: Path) -> ServerSpec:
    """``quan serve`` exactly as an operator runs it, on a free loopback port."""
    port = free_port()
    argv = [sys.executable, "-m", "quan.cli", "serve"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return ServerSpec(f"quan serve --workers {workers}", argv, env, port, workers, log_path)


def ceiling_serve(app: str, workers: int, log_path: Path) -> ServerSpec:
    """A ceiling app (``raw`` or ``fastapi``) under the same uvicorn options as ``quan serve``."""
    port = free_port()
    argv = [sys.executable, "-m", "quan.bench.ceiling_serve", app]
    argv += ["--port", str(port), "--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUAN_")}
    return ServerSpec(
        f"ceiling {app} --workers {workers}", argv, env, port, workers, log_path, "/health"
    )


class ServerProcess:
    """Context manager: ``with ServerProcess(spec) as server: ...`` starts, then stops it."""

    def __init__(self, spec: ServerSpec, *, start_timeout: float = 60.0) -> None:
        self.spec = spec
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.peak: list[ProcessMemory] = []

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.process is not None, "server not started"
        return self.process.pid

    def start(self) -> None:
        self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.spec.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self.spec.argv,
                env=dict(self.spec.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            # Not healthy, or interrupted while waiting: never leave the server behind.
            self.stop()
            raise

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        with httpx.Client(base_url=self.spec.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServerError(f"{self.spec.label} exited at start-up{self._log_tail()}")
                if self._started_workers() >= self.spec.workers and self._healthy(client):
                    return
                time.sleep(0.1)
        raise ServerError(
            f"{self.spec.label} not healthy in {self.start_timeout:.0f} s{self._log_tail()}"
        )

    def _healthy(self, client: httpx.Client) -> bool:
        try:
            return client.get(self.spec.health_path).status_code == 200
        except httpx.HTTPError:
            return False

    def _started_workers(self) -> int:
        try:
            return self.spec.log_path.read_text(errors="replace").count(STARTED_LINE)
        except OSError:
            return 0

    def _log_tail(self, lines: int = 30) -> str:
        try:
            tail = self.spec.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n--- server log (last lines) ---\n" + "\n".join(tail)

    def memory(self) -> list[ProcessMemory]:
        """Peak RSS of the supervisor and each worker so far (with one worker: one process)."""
        found = tree_memory(self.pid)
        if self.spec.workers <= 1 and found:
            found[0] = ProcessMemory(
                found[0].pid, "server", found[0].peak_rss_mib, found[0].rss_mib
            )
        return found

    def stop(self, timeout: float = 20.0) -> list[ProcessMemory]:
        """Stop gracefully (SIGINT, as Ctrl-C), then by force; returns the peak memory read last."""
        process = self.process
        if process is None or process.poll() is not None:
            return self.peak
        self.peak = self.memory()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill_group(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill_group(signal.SIGKILL)
                process.wait(timeout=5)
        # Workers left behind by a supervisor that died first belong to our session: end them.
        self._kill_group(signal.SIGKILL)
        return self.peak

    def _kill_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)  # the session we started: only this server's processes

    def memory_report(self) -> dict[str, float]:
        """``{"server": MiB}`` or ``{"supervisor": MiB, "worker-1": MiB, ...}`` (peak RSS)."""
        out: dict[str, float] = {}
        workers = 0
        for proc in self.peak or self.memory():
            if proc.name == "worker":
                workers += 1
                out[f"worker-{workers}"] = proc.peak_rss_mib
            else:
                out[proc.name] = proc.peak_rss_mib
        return out
