"""The lock file `make install` installs from covers pyproject.toml, pinned and hashed.

A dependency added to pyproject.toml without `make lock` would be missing from the install (it
runs with --no-deps), so this fails first, naming it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock.txt"
RUNTIME = ROOT / "requirements" / "runtime.txt"
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path = LOCK) -> dict[str, tuple[Version, list[str]]]:
    """Each pinned package: its version and its hashes."""
    pins: dict[str, tuple[Version, list[str]]] = {}
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            current = []
            pins[_normal(match.group(1))] = (Version(match.group(2)), current)
        elif line.strip().startswith("--hash=sha256:"):
            current.append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return pins


def declared() -> list[Requirement]:
    """Runtime dependencies, every optional extra, and the build system's requirements."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names = list(project["project"]["dependencies"])
    for extra in project["project"].get("optional-dependencies", {}).values():
        names += extra
    names += project["build-system"]["requires"]
    return [Requirement(text) for text in names]


def test_every_dependency_named_in_pyproject_is_pinned_in_the_lock_within_its_range() -> None:
    pins = locked()
    missing, outside = [], []
    for requirement in declared():
        pin = pins.get(_normal(requirement.name))
        if pin is None:
            missing.append(requirement.name)
        elif not requirement.specifier.contains(pin[0], prereleases=True):
            outside.append(f"{requirement} (locked {pin[0]})")
    assert not missing, f"not in requirements/lock.txt, run `make lock`: {missing}"
    assert not outside, f"locked outside pyproject.toml's range, run `make lock`: {outside}"


def test_every_pin_carries_hashes_so_pip_installs_nothing_else() -> None:
    pins = locked()
    assert len(pins) > 30
    unhashed = [name for name, (_, hashes) in pins.items() if not hashes]
    assert not unhashed, unhashed
    for _, hashes in pins.values():
        assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in hashes)


def test_every_runtime_dependency_has_an_upper_bound_on_its_major_version() -> None:
    """A new major release may break the API; it comes in through `make lock`, not by surprise.

    tzdata is the exception: its versions are years of the time zone database, not API versions.
    """
    unbounded = [
        str(requirement)
        for requirement in declared()
        if requirement.name != "tzdata"
        and not any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier)
    ]
    assert not unbounded, f"add an upper bound in pyproject.toml: {unbounded}"


def test_the_server_image_lock_has_the_runtime_dependencies_at_the_same_pins_and_no_test_tool() -> (
    None
):
    """deploy/docker installs requirements/runtime.txt: it must not drift from what tests ran."""
    full, runtime = locked(), locked(RUNTIME)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needed = [Requirement(text) for text in project["project"]["dependencies"]]
    missing = [r.name for r in needed if _normal(r.name) not in runtime]
    assert not missing, f"not in requirements/runtime.txt, run `make lock`: {missing}"
    drifted = [n for n, (v, _) in runtime.items() if n not in full or full[n][0] != v]
    assert not drifted, f"requirements/runtime.txt differs from lock.txt (`make lock`): {drifted}"
    extras = project["project"]["optional-dependencies"]["test"]
    test_tools = {_normal(Requirement(t).name) for t in extras}
    assert not test_tools & set(runtime), sorted(test_tools & set(runtime))
