"""The package's layout rules (DESIGN.md section 2): no import cycles inside ``ganzoo/``, and small modules."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "ganzoo"  # the core only: ganzoo.plugins and ganzoo.exporters live in plugins/ and exporters/
MAX_LINES = 500
LONG_REASON = "Why this module is long:"


# -- the import graph --------------------------------------------------------------------------------------------


def _core_modules() -> dict[str, Path]:
    """Dotted name -> file of every module under ``ganzoo/`` (a package is its ``__init__.py``)."""
    modules = {}
    for path in sorted(SOURCE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_statements(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, those inside functions included, except the ones under ``if TYPE_CHECKING:``."""
    if isinstance(tree, (ast.Import, ast.ImportFrom)):
        yield tree
        return
    if isinstance(tree, ast.If) and _is_type_checking(tree.test):
        children: list[ast.AST] = list(tree.orelse)
    else:
        children = list(ast.iter_child_nodes(tree))
    for child in children:
        yield from _import_statements(child)


def _face(modules: dict[str, Path]) -> dict[str, str]:
    """Name -> defining module of what ``ganzoo/__init__.py`` offers: its ``_LAZY`` table and its own imports."""
    tree = ast.parse(modules["ganzoo"].read_text(encoding="utf-8"))
    face: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            face.update({alias.asname or alias.name: node.module for alias in node.names})
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "_LAZY" and node.value is not None:
            face.update(ast.literal_eval(node.value))
    return face


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a core module (``ganzoo.x.Y`` -> ``ganzoo.x``), or None.

    ``ganzoo`` owns only itself: ``ganzoo.plugins.dcgan`` and ``ganzoo.exporters.onnx`` are outside the core.
    """
    parts = name.split(".")
    while len(parts) > 1:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return name if name in modules else None


def _targets(
    module: str, tree: ast.Module, modules: dict[str, Path], face: dict[str, str]
) -> Iterator[tuple[str, int]]:
    """The core modules ``module`` imports, with the line of each import (``ganzoo`` itself resolved by name)."""

    def through_face(name: str) -> str | None:
        if f"ganzoo.{name}" in modules:  # from ganzoo import sampling
            return f"ganzoo.{name}"
        defined = face.get(name)
        return _owner(defined, modules) if defined else None

    binds_ganzoo = False
    for node in _import_statements(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "ganzoo" or (alias.name.startswith("ganzoo.") and alias.asname is None):
                    binds_ganzoo = True  # ``ganzoo.X`` attribute uses are resolved below
                target = _owner(alias.name, modules)
                if target and target != "ganzoo":
                    yield target, node.lineno
            continue
        if node.level:  # relative: from the module's package, up level - 1
            package = module.split(".") if module in modules and modules[module].name == "__init__.py" else None
            package = package or module.split(".")[:-1]
            base_parts = package[: len(package) - (node.level - 1)]
            base = ".".join(base_parts + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        if base == "ganzoo":
            for alias in node.names:
                target = through_face(alias.name)
                if target and target != "ganzoo":
                    yield target, node.lineno
            continue
        target = _owner(base, modules)
        if target is None:
            continue
        yield target, node.lineno
        for alias in node.names:
            if f"{base}.{alias.name}" in modules:  # from ganzoo.x import y, y a submodule
                yield f"{base}.{alias.name}", node.lineno
    if binds_ganzoo:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ganzoo":
                target = through_face(node.attr)
                if target and target != "ganzoo":
                    yield target, node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    """Module -> {imported core module: line of the first such import}."""
    modules = _core_modules()
    face = _face(modules)
    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = graph.setdefault(module, {})
        for target, line in _targets(module, tree, modules, face):
            if target != module:
                edges.setdefault(target, line)
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (the import cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _one_cycle(component: list[str], graph: dict[str, dict[str, int]]) -> list[str]:
    """A shortest cycle through the component's first module (breadth first inside the component)."""
    start, members = component[0], set(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node]):
                if nxt not in members:
                    continue
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if nxt not in parents:
                    parents[nxt] = node
                    following.append(nxt)
        frontier = following
    return component


def _describe(component: list[str], graph: dict[str, dict[str, int]]) -> str:
    modules = _core_modules()
    cycle = _one_cycle(component, graph)
    hops = [f"{a} -> {b} ({modules[a].relative_to(REPO)}:{graph[a][b]})" for a, b in itertools.pairwise(cycle)]
    return f"{len(component)} modules {component}; e.g. " + ", ".join(hops)


def test_no_import_cycle() -> None:
    """No module under ``ganzoo/`` takes part in an import cycle, counting imports inside functions too.

    Every ``import`` / ``from ... import`` statement counts (those inside functions as well, as they run sooner or
    later), except those under ``if TYPE_CHECKING:``. ``from ganzoo.x import y`` is an edge to ``ganzoo.x`` and, when
    ``y`` is a submodule, to ``ganzoo.x.y``; a package is its ``__init__``. ``ganzoo/__init__.py`` is a lazy face,
    so ``import ganzoo`` / ``from ganzoo import X`` / ``ganzoo.X`` is an edge to the module that defines ``X``
    (its ``_LAZY`` table, or its own imports such as ``ganzoo.errors``), never to the package ``ganzoo`` itself.
    ``importlib.import_module`` calls are not followed. Only the core counts: modules under ``ganzoo/``, not
    ``ganzoo.plugins`` or ``ganzoo.exporters`` (plugins/, exporters/).
    """
    graph = import_graph()
    cycles = strongly_connected(graph)
    assert not cycles, "import cycles in ganzoo/:\n" + "\n".join(_describe(c, graph) for c in cycles)


def test_the_graph_sees_lazy_and_relative_imports() -> None:
    """The cycle search is only as good as the graph: function-level imports and the face are followed."""
    graph = import_graph()
    assert "ganzoo.errors" in graph["ganzoo"]
    assert "ganzoo.version" in graph["ganzoo"]
    assert "ganzoo.evaluation.inception" in graph["ganzoo.evaluation.extractors"]  # imported inside a method
    assert "ganzoo" not in {target for edges in graph.values() for target in edges}


# -- module size ---------------------------------------------------------------------------------------------------


def test_modules_are_small() -> None:
    """Every module of ganzoo/, plugins/ and exporters/ is at most 500 lines, unless its docstring says why not
    on a line starting with "Why this module is long:"."""
    too_long = []
    for folder in ("ganzoo", "plugins", "exporters"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            lines = len(text.splitlines())
            if lines <= MAX_LINES:
                continue
            doc = ast.get_docstring(ast.parse(text)) or ""
            if not any(line.strip().startswith(LONG_REASON) for line in doc.splitlines()):
                too_long.append(f"{path.relative_to(REPO)}: {lines} lines")
    assert not too_long, (
        f"modules over {MAX_LINES} lines (split them, or say {LONG_REASON!r} in the module docstring): "
        + ", ".join(too_long)
    )
