"""The package's structure, as rules a change cannot quietly break (docs/architecture.md):
dependencies point one way, nothing is too big to read, pending validations are applied from
one place, problems come from one module, only the clock reads the wall clock, and the project
refers to nothing outside itself.

Every rule reads the source with :mod:`ast`; each has a test that shows it can fail.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pytest_fakeacme"
#: The facade; only the entry points (and the package's own ``__init__``) may import it.
FACADE = "pytest_fakeacme.fake"
FACADE_USERS = {"pytest_fakeacme", "pytest_fakeacme.plugin", "pytest_fakeacme.__main__",
                "pytest_fakeacme.demo", "pytest_fakeacme.conformance.runner",
                "pytest_fakeacme.conformance.situations"}
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 100


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    return {
        _module_name(path): (path, ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _imports(name: str, path: Path, tree: ast.Module, known: set[str]) -> set[str]:
    """Every package module ``tree`` imports, wherever the import stands (function bodies and
    ``if TYPE_CHECKING:`` included: a type names a dependency as much as a call does), and the
    subpackages an import passes through (importing ``a.b.c`` runs ``a/b/__init__``)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            # ``from m import x``: the submodule m.x if there is one, else m itself.
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                       for alias in node.names]
        for target in targets:
            if target in known:
                found.add(target)
                parts = target.split(".")
                # Subpackages passed through on the way, other than the importer's own
                # ancestors (already initialised) and the root (entered first, by anyone).
                found.update(
                    ".".join(parts[:i]) for i in range(2, len(parts))
                    if not (name + ".").startswith(".".join(parts[:i]) + ".")
                )
    found.discard(name)
    return found & known


def import_graph() -> dict[str, set[str]]:
    """Each package module and the package modules it imports."""
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, tree, known) for name, (path, tree) in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_type_checking_and_local_imports_count() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .b import B\n"
        "def f():\n    from . import c\n"
    )
    tree = ast.parse(source)
    known = {"pytest_fakeacme.a", "pytest_fakeacme.b", "pytest_fakeacme.c"}
    found = _imports("pytest_fakeacme.a", PACKAGE / "a.py", tree, known)
    assert found == {"pytest_fakeacme.b", "pytest_fakeacme.c"}


def test_only_the_entry_points_import_the_facade() -> None:
    users = {name for name, deps in import_graph().items() if FACADE in deps}
    assert users <= FACADE_USERS


def test_management_and_the_front_end_never_see_the_facade() -> None:
    graph = import_graph()

    def reaches(start: str, target: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == target:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(graph.get(node, ()))
        return False

    for name in graph:
        if name.startswith(("pytest_fakeacme.management", "pytest_fakeacme.wfe",
                            "pytest_fakeacme.va", "pytest_fakeacme.core")):
            assert not reaches(name, FACADE), name


def _sized(tree: ast.Module) -> Iterator[tuple[str, str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.end_lineno is not None
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            yield kind, node.name, node.end_lineno - node.lineno + 1


def test_no_class_or_function_is_too_long() -> None:
    too_long = []
    for name, (_, tree) in _modules().items():
        for kind, symbol, lines in _sized(tree):
            limit = MAX_CLASS_LINES if kind == "class" else MAX_FUNCTION_LINES
            if lines > limit:
                too_long.append(f"{name}.{symbol}: {kind} of {lines} lines")
    assert too_long == []


def test_the_size_rule_measures_lines() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    [(kind, symbol, lines)] = _sized(ast.parse(f"def f():\n{body}\n"))
    assert (kind, symbol, lines) == ("function", "f", MAX_FUNCTION_LINES + 1)


def _calls_of(tree: ast.Module, attribute: str) -> int:
    return sum(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr == attribute
        for node in ast.walk(tree)
    )


def test_pending_validations_are_applied_from_reads_only() -> None:
    callers = {
        name for name, (_, tree) in _modules().items()
        if _calls_of(tree, "settle") and not name.startswith("pytest_fakeacme.va")
    }
    assert callers == {"pytest_fakeacme.reads"}


def test_problem_documents_come_from_the_problems_module() -> None:
    # AcmeProblem is built by problems.py's constructors; everyone else calls those.
    builders = {
        name for name, (_, tree) in _modules().items()
        if any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
               and node.func.id == "AcmeProblem" for node in ast.walk(tree))
    }
    assert builders <= {"pytest_fakeacme.problems"}


#: Calls that read the wall clock (the clock module is the one place allowed to).
_WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
               ("time", "time"), ("date", "today")}


def test_only_the_clock_reads_the_wall_clock() -> None:
    readers = set()
    for name, (_, tree) in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(
                    owner, "id", "")
                if (owner_name, node.func.attr) in _WALL_CLOCK:
                    readers.add(name)
    assert readers <= {"pytest_fakeacme.clock"}


# Spelled in pieces, so that this file does not match itself.
_OUTSIDE = re.compile("|".join([
    r"\b" + "S" + "PEC" + r"\b", r"\.\./" + "sha" + "red", r"\b" + "sha" + "red/",
    "(?<!key-)refer" + "ence/", "boulder" + "-va" + r"\.md", "house" + "-review",
    "newcomer" + "-run",
]))
_TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".js", ".html", ".css", ".json", ".cfg"}


def _repository_files() -> Iterator[Path]:
    for folder in ("pytest_fakeacme", "tests", "docs", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in _TEXT_SUFFIXES:
                yield path
    for name in ("README.md", "CHANGELOG.md", "pyproject.toml", "conftest.py", "mkdocs.yml"):
        yield ROOT / name
    yield ROOT / ".ci" / "run"


def test_nothing_refers_to_documents_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _repository_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _OUTSIDE.search(line)
    ]
    assert found == []


@pytest.mark.parametrize("line", ["as the " + "S" + "PEC says", "see refer" + "ence/pebble.md",
                                  "../" + "sha" + "red/tools"])
def test_the_outside_reference_rule_matches(line: str) -> None:
    assert _OUTSIDE.search(line)
