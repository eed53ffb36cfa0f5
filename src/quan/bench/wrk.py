"""Running wrk with the generated Lua script and reading its ``QB-RESULT`` summary."""

from __future__ import annotations

import json
import math
import secrets
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from quan.bench import lua
from quan.bench.load import LoadResult, LoadSpec


class WrkError(RuntimeError):
    pass


def _write_feed(spec: LoadSpec, work_dir: Path) -> str | None:
    if spec.feed is None:
        return None
    path = work_dir / f"feed-{secrets.token_hex(4)}.tsv"
    with path.open("w", encoding="utf-8") as out:
        for item in spec.feed:
            out.write(item.line())
            out.write("\n")
    return str(path)


def command(spec: LoadSpec, script_path: Path) -> list[str]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkError("wrk is not installed")
    # wrk takes whole seconds; a 'once' load ends early through the done markers.
    seconds = max(1, math.ceil(spec.duration_s))
    return [
        wrk,
        f"-t{spec.threads}",
        f"-c{max(spec.connections, spec.threads)}",
        f"-d{seconds}s",
        f"--timeout={max(1, math.ceil(spec.timeout_s))}s",
        "-s",
        str(script_path),
        spec.base_url,
    ]


def run(spec: LoadSpec, work_dir: Path) -> LoadResult:
    work_dir.mkdir(parents=True, exist_ok=True)
    feed = _write_feed(spec, work_dir)
    key_prefix = f"qb{secrets.token_hex(6)}" if spec.unique_keys and feed is None else None
    source = lua.script(
        method=spec.method,
        path=spec.path,
        body=spec.body,
        headers=dict(spec.headers),
        threads=spec.threads,
        feed_path=feed,
        once=spec.once,
        key_prefix=key_prefix,
        count_statuses=spec.count_statuses,
    )
    script_path = work_dir / f"load-{secrets.token_hex(4)}.lua"
    script_path.write_text(source, encoding="utf-8")
    try:
        return _run(spec, command(spec, script_path))
    finally:
        script_path.unlink(missing_ok=True)
        if feed is not None:
            Path(feed).unlink(missing_ok=True)


def _run(spec: LoadSpec, argv: list[str]) -> LoadResult:
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - wrk from PATH with our own arguments
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    # A hard bound whatever happens: wrk's own duration plus room for start-up and the summary.
    watchdog = threading.Timer(spec.duration_s + 60, process.kill)
    watchdog.start()
    done_threads: set[str] = set()
    result_line: str | None = None
    output: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if line.startswith(lua.DONE_MARKER):
                done_threads.add(line.split()[-1])
                if len(done_threads) >= spec.threads and process.poll() is None:
                    # Every thread has sent its share: end wrk's wait now (SIGINT = its stop).
                    process.send_signal(signal.SIGINT)
            elif line.startswith(lua.RESULT_MARKER):
                result_line = line[len(lua.RESULT_MARKER) :].strip()
        process.wait()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    elapsed = time.monotonic() - started
    if result_line is None:
        raise WrkError(
            f"wrk gave no summary (exit {process.returncode}): {''.join(output)[-2000:]}"
        )
    return parse(result_line, elapsed)


def parse(text: str, elapsed_s: float | None = None) -> LoadResult:
    data: dict[str, Any] = json.loads(text)
    latency = {k: round(float(v) / 1000, 3) for k, v in data["latency_us"].items()}
    duration_s = data["duration_us"] / 1e6
    statuses = {int(k): int(v) for k, v in data["statuses"].items()}
    # Answers to the idle GETs of a used-up 'once' feed: not part of what was measured.
    idle = int(data.get("idle", 0))
    first, last = data.get("first_us", 0), data.get("last_us", 0)
    if first and last > first:
        # Measured first request → last response; excludes wrk's start-up and stop.
        duration_s = (last - first) / 1e6
    elif elapsed_s is not None and duration_s <= 0:
        duration_s = elapsed_s
    return LoadResult(
        tool="wrk",
        requests=int(data["requests"]) - idle,
        duration_s=duration_s,
        errors={k: int(v) - (idle if k == "status" else 0) for k, v in data["errors"].items()},
        statuses=statuses,
        latency_ms=latency,
        sent=int(data.get("sent", 0)),
    )
