"""The modules of crosspost import each other without cycles.

A cycle makes the import order decide whether a name exists yet, so it breaks on an innocent
reordering, and it ties modules together that should change alone. The graph is read from the
source with ``ast`` (not by importing), so it counts imports inside functions too: they run
later, but they still tie the modules together. Imports under ``if TYPE_CHECKING:`` never run
and are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import crosspost

PACKAGE = "crosspost"
ROOT = Path(crosspost.__file__).parent


def module_files() -> dict[str, Path]:
    """Dotted module name → its file, for every module of the package."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join([PACKAGE, *parts])] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except the bodies of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _with_parents(module: str, importer: str, known: dict[str, Path]) -> set[str]:
    """Importing ``a.b.c`` runs ``a`` and ``a.b`` first, unless the importer is inside them
    (then they are already being imported)."""
    out = {module}
    parts = module.split(".")
    for i in range(1, len(parts)):
        parent = ".".join(parts[:i])
        if parent in known and not (importer == parent or importer.startswith(parent + ".")):
            out.add(parent)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports (directly, or by importing their names)."""
    known = module_files()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                if node.level:
                    base = _package_of(module, path).split(".")
                    base = base[: len(base) - (node.level - 1)]
                    base_name = ".".join(base + ([node.module] if node.module else []))
                else:
                    base_name = node.module or ""
                # ``from pkg import mod`` imports the submodule ``pkg.mod``
                names = [
                    f"{base_name}.{a.name}" if f"{base_name}.{a.name}" in known else base_name
                    for a in node.names
                ]
            for name in names:
                # ``import a.b.c`` of a name not a module: the nearest enclosing module
                while name and name not in known:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    targets |= _with_parents(name, module, known)
        graph[module] = targets - {module}
    return graph


def knots(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan): each module of
    one imports each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per knot, to name in a failure."""
    return [one_cycle(graph, k) for k in knots(graph)]


def one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def describe(graph: dict[str, set[str]], knot: set[str]) -> str:
    cycle = one_cycle(graph, knot)
    rest = sorted(knot - set(cycle))
    return " → ".join(cycle) + (f" (and in the same knot: {', '.join(rest)})" if rest else "")


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    found = [describe(graph, k) for k in knots(graph)]
    assert not found, "import cycles:\n" + "\n".join(f"  {c}" for c in found)


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def test_publishing_needs_neither_preview_nor_the_command_line() -> None:
    publishing = reachable(import_graph(), "crosspost.daemon")
    assert "crosspost.publisher" in publishing
    assert not {m for m in publishing if m == "crosspost.preview" or m.startswith("crosspost.cli")}


def test_the_graph_sees_relative_local_and_parent_imports() -> None:
    graph = import_graph()
    # a relative import at the top of a module
    assert "crosspost.errors" in graph["crosspost.cli"]
    # a function-local ``from .daemon import Daemon`` inside the daemon command
    assert "crosspost.daemon" in graph["crosspost.cli"]
    # ``from . import views`` names a module, not a name in ``crosspost/__init__.py``
    assert "crosspost.views" in graph["crosspost.cli"]
    # ``from ..errors import`` from a subpackage
    assert "crosspost.errors" in graph["crosspost.platforms.registry"]
    # importing ``crosspost.platforms.base`` from outside runs ``crosspost.platforms`` first
    assert "crosspost.platforms" in graph["crosspost.cli_admin"]
    # guardkey names App in annotations only (under ``if TYPE_CHECKING:``)
    assert "crosspost.app" not in graph["crosspost.guardkey"]
    assert "crosspost.guardkey" in graph["crosspost.app"]


def test_a_cycle_is_found_and_named() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "e"}, "d": {"a"}, "e": {"c"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    [knot] = knots(graph)
    assert describe(graph, knot) == "a → b → c → a (and in the same knot: e)"
    assert find_cycles({"a": {"b"}, "b": set(), "c": {"a"}}) == []
