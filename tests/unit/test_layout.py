"""The house rules of the code's layout (docs/development.md), checked on the source itself.

- ``services/`` holds shared plumbing at its top and everything else in wings (sub-packages by
  bounded context), each of whose ``__init__`` says what it owns and which wings it may use;
- no import circle inside ``quan.services`` (imports inside functions count: a lazy import
  hides a circle, it does not break it);
- the console calls services, never the API's route functions;
- every module reads in one sitting: at most 400 lines (migrations are history, not reading).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import quan

SRC = Path(quan.__file__).parent
SERVICES = SRC / "services"

# Shared plumbing every wing uses; anything else belongs in a wing.
PLUMBING = {"__init__", "runtime", "idempotency"}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_under(root: Path) -> dict[str, Path]:
    return {module_name(p): p for p in sorted(root.rglob("*.py"))}


def package_of(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imported_names(path: Path, package: str | None = None) -> Iterator[str]:
    """Every module name an import statement in ``path`` names, at any depth of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = package_of(path) if package is None else package
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield target
            # ``from package import module`` imports the module too.
            yield from (f"{target}.{alias.name}" for alias in node.names)


def import_graph(root: Path) -> dict[str, set[str]]:
    known = modules_under(root)
    return {
        name: {target for target in imported_names(path) if target in known and target != name}
        for name, path in known.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` as a path that returns to its start, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_there_is_no_import_circle_inside_services() -> None:
    cycle = find_cycle(import_graph(SERVICES))
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_circle_and_passes_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_lazy_imports_count_as_edges(tmp_path: Path) -> None:
    module = SERVICES / "issuance" / "batches.py"
    names = set(imported_names(module))
    assert "quan.services.issuance.lottery_commitment" in names
    nested = tmp_path / "nested.py"
    nested.write_text("def f():\n    from quan.services.issuance import lottery\n")
    assert "quan.services.issuance.lottery" in set(imported_names(nested, package=""))


def test_services_top_level_holds_only_plumbing_and_wings() -> None:
    modules = {p.stem for p in SERVICES.glob("*.py")}
    assert modules - PLUMBING == set(), "put use cases in a wing"
    wings = [p for p in SERVICES.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert len(wings) >= 7
    for wing in wings:
        init = wing / "__init__.py"
        assert init.is_file(), f"{wing.name} is not a package"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"services/{wing.name}/__init__.py: say what it owns"
        assert "May use" in doc, f"services/{wing.name}/__init__.py: say which wings it may use"


def test_each_wing_uses_only_the_wings_its_docstring_names() -> None:
    wings = {p.name for p in SERVICES.iterdir() if (p / "__init__.py").is_file()}
    for wing in sorted(wings):
        doc = ast.get_docstring(ast.parse((SERVICES / wing / "__init__.py").read_text()))
        allowed = set(re.findall(r"``(\w+)``", (doc or "").partition("May use")[2])) & wings
        used = {
            target.split(".")[2]
            for path in (SERVICES / wing).rglob("*.py")
            for target in imported_names(path)
            if target.startswith("quan.services.") and target.split(".")[2] in wings
        } - {wing}
        assert used <= allowed, f"services/{wing} uses {sorted(used - allowed)}: say so or don't"


def test_the_console_never_imports_the_api_routes() -> None:
    offenders = [
        f"{name}: {target}"
        for name, path in modules_under(SRC / "web").items()
        for target in imported_names(path)
        if target == "quan.api.routes" or target.startswith("quan.api.routes.")
    ]
    assert offenders == []


def test_no_module_passes_400_lines() -> None:
    long = {
        str(path.relative_to(SRC)): lines
        for path in sorted(SRC.rglob("*.py"))
        if "migrations" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, "split these by use case"
