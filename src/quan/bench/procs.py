"""Processes of a server under test and their peak resident memory, read from /proc (Linux).

The kernel keeps each process's high-water mark of resident memory (``VmHWM``), so one read just
before the server stops gives its true peak, without sampling. Workers are found as descendants
of the process the harness started (uvicorn's supervisor spawns them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class ProcessMemory:
    pid: int
    name: str
    peak_rss_mib: float
    rss_mib: float


def _status(pid: int) -> dict[str, str]:
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def _kib(value: str | None) -> float:
    # "/proc/<pid>/status" gives "123456 kB".
    return float(value.split()[0]) if value else 0.0


def _parent(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1])


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (children, grandchildren...), in pid order."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return sorted(found)


def _cmdline(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _role(cmdline: str, name: str) -> str:
    if "multiprocessing.resource_tracker" in cmdline:
        return "resource-tracker"
    if "multiprocessing" in cmdline or "spawn_main" in cmdline:
        return "worker"
    return name or "process"


def memory(pid: int, role: str | None = None) -> ProcessMemory | None:
    status = _status(pid)
    if not status:
        return None
    name = role or _role(_cmdline(pid), status.get("Name", ""))
    return ProcessMemory(
        pid=pid,
        name=name,
        peak_rss_mib=round(_kib(status.get("VmHWM")) / 1024, 1),
        rss_mib=round(_kib(status.get("VmRSS")) / 1024, 1),
    )


def tree_memory(root: int) -> list[ProcessMemory]:
    """The root (named ``supervisor``) and each descendant, with their peak RSS so far."""
    out: list[ProcessMemory] = []
    top = memory(root, "supervisor")
    if top is not None:
        out.append(top)
    for pid in descendants(root):
        found = memory(pid)
        if found is not None:
            out.append(found)
    return out
