"""``make mutants``: plant each guard's removal from tests/mutants/guards.toml and run its tests.

A guard is a line of code or schema that carries a guarantee (a unique index, a conditional
``UPDATE … WHERE``, a row lock, an eligibility predicate, a trigger). For each entry the runner
copies the tree to a temporary directory (never touching the working tree), replaces the entry's
``find`` snippet (which must occur exactly once) by its ``replace``, runs the entry's tests there
with PostgreSQL and SQLite, and calls the mutant *killed* when a test fails, *survived* when they
all pass. It exits non-zero if a mutant survives, a snippet is stale, or the unmutated tree fails
the same tests with ``--baseline`` (then a "kill" would prove nothing; CI runs ``make test``
first, which is that baseline).

Why a small runner of a list rather than mutmut or cosmic-ray: those generate thousands of
operator-level mutants of Python code and cannot mutate a migration's DDL or a partial index's
predicate, which are the guards that matter here; the list names each guard, the guarantee it
carries and the tests that must catch its loss, which is the review artefact the issue asks for.

Paths may move (services are being sorted into sub-packages): an entry's ``file`` that no longer
exists is looked up by its file name under ``src/`` and must then hold the snippet exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUARDS = Path(__file__).with_name("guards.toml")
TOP_ONLY = {"bench", "var"}
SKIP = {
    ".venv",
    ".git",
    "var",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "test-artifacts",
    "__pycache__",
    "bench",
}


@dataclass(frozen=True)
class Guard:
    id: str
    file: str
    # One edit, or several when a guarantee is carried by layers that back each other up (a
    # check under a row lock and the conditional UPDATE after it): the entry removes them all.
    edits: tuple[tuple[str, str], ...]
    guarantee: str
    tests: tuple[str, ...]


def load(path: Path = GUARDS) -> list[Guard]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    guards = []
    for g in data["guard"]:
        finds = g["find"] if isinstance(g["find"], list) else [g["find"]]
        replaces = g["replace"] if isinstance(g["replace"], list) else [g["replace"]]
        edits = tuple(zip(finds, replaces, strict=True))
        guards.append(Guard(g["id"], g["file"], edits, g["guarantee"], tuple(g["tests"])))
    return guards


def resolve(root: Path, guard: Guard) -> Path:
    """The file holding each of the guard's snippets exactly once (by its path, else by its
    file name anywhere under src/)."""
    direct = root / guard.file
    candidates = (
        [direct] if direct.exists() else sorted((root / "src").rglob(Path(guard.file).name))
    )

    def holds(path: Path) -> bool:
        content = path.read_text(encoding="utf-8")
        return all(content.count(find) == 1 for find, _ in guard.edits)

    holding = [p for p in candidates if holds(p)]
    if len(holding) != 1:
        raise LookupError(f"{guard.id}: a snippet is not found exactly once in {guard.file}")
    return holding[0]


def copy_tree(into: Path) -> Path:
    tree = into / "tree"

    def ignore(directory: str, names: list[str]) -> list[str]:
        # Only at the top: src/quan/bench is code, ./bench holds results.
        top = Path(directory) == ROOT
        return [n for n in names if n in SKIP and (top or n not in TOP_ONLY)]

    shutil.copytree(ROOT, tree, ignore=ignore)
    return tree


def imports_the_copy(tree: Path) -> bool:
    """The venv's interpreter with PYTHONPATH at the copy imports the copy's ``quan`` (the venv
    is shared, not copied: its editable install is a path entry, which PYTHONPATH precedes; an
    import hook would take the working tree instead, and every mutant would survive unplanted)."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"), PYTHONDONTWRITEBYTECODE="1")
    found = subprocess.run(
        [sys.executable, "-c", "import quan; print(quan.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return Path(found).is_relative_to(tree)


def pytest(tree: Path, tests: tuple[str, ...], timeout: int, workers: int = 0) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"), PYTHONDONTWRITEBYTECODE="1")
    command = [
        *(sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"),
        "--hypothesis-profile=mutants",  # tests/conftest.py: no shrinking
        # A mutant's few tests run in one process (-x stops at the first failure); the baseline
        # runs every guard's tests, spread over as many processes as mutants run at once.
        *("-n", str(workers)),
        *tests,
    ]
    try:
        done = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return -1, "timed out"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode, "\n".join(lines[-15:])


def run_one(tree: Path, guard: Guard, timeout: int) -> dict[str, object]:
    started = time.monotonic()
    target = resolve(tree, guard)
    original = target.read_text(encoding="utf-8")
    mutated = original
    for find, replace in guard.edits:
        mutated = mutated.replace(find, replace)
    target.write_text(mutated, encoding="utf-8")
    try:
        code, tail = pytest(tree, guard.tests, timeout)
    finally:
        target.write_text(original, encoding="utf-8")
    # 1: a test failed (killed). 0: all passed (survived). Anything else (collection error,
    # no tests, timeout) is an error: a mutant that breaks the import proves nothing.
    status = {0: "survived", 1: "killed"}.get(code, "error")
    # For a kill, the failing test and its assertion: a kill by an unrelated failure (a test
    # broken before the mutation, which --baseline rules out) shows here.
    failed = [line for line in tail.splitlines() if line.startswith("FAILED ")]
    return {
        "id": guard.id,
        "file": str(target.relative_to(tree)),
        "status": status,
        "seconds": round(time.monotonic() - started, 1),
        "guarantee": guard.guarantee,
        **({"output": tail} if status != "killed" else {"failed": failed[:1]}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="guard ids to run")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per mutant")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="first run every guard's tests unmutated (CI skips it: make test just did)",
    )
    parser.add_argument("--json", type=Path, help="write the results there")
    args = parser.parse_args(argv)
    for name in ("QUAN_TEST_POSTGRES_URL",):
        if not os.environ.get(name):
            print(f"{name} is not set: the guards are proven on PostgreSQL", file=sys.stderr)
            return 2
    os.environ["QUAN_REQUIRE_SERVICES"] = "1"
    listed = load()
    if args.only:  # in the order given (the ones to watch first)
        by_id = {g.id: g for g in listed}
        unknown = [i for i in args.only if i not in by_id]
        if unknown:
            print(f"no such guard: {' '.join(unknown)}", file=sys.stderr)
            return 2
        listed = [by_id[i] for i in dict.fromkeys(args.only)]
    guards = listed
    for guard in guards:
        resolve(ROOT, guard)  # a stale snippet fails before anything runs
    commit = subprocess.run(  # the tree that is copied (uncommitted changes aside)
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="quan-mutants-") as tmp:
        trees = [copy_tree(Path(tmp) / str(i)) for i in range(max(args.jobs, 1))]
        if not imports_the_copy(trees[0]):
            print("the venv imports quan from the working tree, not the copy", file=sys.stderr)
            return 2
        if args.baseline:
            every = tuple(sorted({t for g in guards for t in g.tests}))
            code, tail = pytest(trees[0], every, args.timeout * 2, workers=max(args.jobs, 1))
            if code != 0:
                print(f"the unmutated tree fails its guards' tests:\n{tail}", file=sys.stderr)
                return 1
            print(
                f"baseline: {len(every)} tests pass unmutated ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
        free = list(trees)

        done: list[str] = []

        def work(guard: Guard) -> dict[str, object]:
            tree = free.pop()
            try:
                result = run_one(tree, guard, args.timeout)
            finally:
                free.append(tree)
            done.append(guard.id)
            print(
                f"{result['status']:>8}  {guard.id}  ({result['seconds']} s)"
                f"  [{len(done)}/{len(guards)}, {time.monotonic() - started:.0f} s]",
                flush=True,
            )
            return result

        with ThreadPoolExecutor(max_workers=len(trees)) as pool:
            results = list(pool.map(work, guards))
    elapsed = round(time.monotonic() - started, 1)
    killed = sum(r["status"] == "killed" for r in results)
    summary = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(["python -m tests.mutants.run", *(argv or sys.argv[1:])]),
        "commit": commit,
        "jobs": args.jobs,
        "killed": killed,
        "total": len(results),
        "seconds": elapsed,
        "results": results,
    }
    for r in results:
        if r["status"] != "killed":
            print(f"\n{str(r['status']).upper()}: {r['id']} ({r['file']})\n{r.get('output', '')}")
    print(f"\nmutants: {killed}/{len(results)} killed in {elapsed} s")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
