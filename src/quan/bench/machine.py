"""What a run ran on: CPU and memory from /proc, OS, Python and library versions, git commit.

Ratios to the ceilings travel between machines; absolute figures do not, so every result file
and ``docs/benchmarks.md`` carry this description.
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

LIBRARIES = ("uvicorn", "fastapi", "starlette", "pydantic", "sqlalchemy", "psycopg", "uvloop")


def _cpuinfo(path: Path = Path("/proc/cpuinfo")) -> dict[str, Any]:
    model, mhz, logical = "unknown", None, 0
    try:
        text = path.read_text()
    except OSError:
        return {"model": platform.processor() or "unknown", "logical_cpus": os.cpu_count()}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "processor":
            logical += 1
        elif key == "model name" and model == "unknown":
            model = value
        elif key == "cpu MHz" and mhz is None:
            mhz = float(value)
    return {"model": model, "mhz": mhz, "logical_cpus": logical or os.cpu_count()}


def _memory_gib(path: Path = Path("/proc/meminfo")) -> float | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit(cwd: Path | None = None) -> dict[str, Any]:
    """HEAD and whether the work tree had uncommitted changes (figures of a dirty tree say so)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
                ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def describe(cwd: Path | None = None) -> dict[str, Any]:
    cpu = _cpuinfo()
    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu["model"],
        "cpu_mhz": cpu.get("mhz"),
        "logical_cpus": cpu["logical_cpus"],
        "usable_cpus": usable,
        "memory_gib": _memory_gib(),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        # Other work on a shared machine shows here: compare it with the logical CPUs.
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "libraries": {name: _version(name) for name in LIBRARIES},
        "git": git_commit(cwd),
    }
