"""No import cycles in ``bot``: the modules import each other as a tree, read from their source.

An import counts when it runs as the module loads: at module level or in a class body, but not
under ``if TYPE_CHECKING:`` (never runs) nor inside a function (runs when called, after every
module has loaded). ``from package import name`` counts as an import of ``package.name`` when that
is a module, else of ``package``.
"""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
    return name == "TYPE_CHECKING"


def _imported(tree: ast.Module, name: str, package: str, known: set[str]) -> set[str]:
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    found.add(submodule if submodule in known else target)
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    visit(inner)
            for handler in getattr(node, "handlers", []):
                visit(handler.body)

    visit(tree.body)
    return {module for module in found if module in known and module != name}


def import_graph(root: Path) -> dict[str, set[str]]:
    """Each module of the package at ``root`` and the modules of the package it imports as it
    loads."""
    paths = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    known = set(paths)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = _imported(tree, name, package, known)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import one another, directly or round about (Tarjan's
    strongly connected components of more than one module, or one importing itself)."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                visit(imported)
                lowest[module] = min(lowest[module], lowest[imported])
            elif imported in stack:
                lowest[module] = min(lowest[module], index[imported])
        if lowest[module] == index[module]:
            group: list[str] = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1 or module in graph[module]:
                groups.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return groups


def test_bot_has_no_import_cycles() -> None:
    graph = import_graph(BOT)
    assert len(graph) > 50, "the bot's modules were not found"
    assert cycles(graph) == []


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_cycle_through_a_package_is_found(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    _write(root, "__init__.py", "")
    _write(root, "a.py", "from pkg.sub import helper\n")
    _write(root, "sub/__init__.py", "from pkg.sub._inner import helper\n")
    _write(root, "sub/_inner.py", "import pkg.a\n\ndef helper() -> None: ...\n")

    assert cycles(import_graph(root)) == [["pkg.a", "pkg.sub", "pkg.sub._inner"]]


def test_imports_that_do_not_run_as_the_module_loads_make_no_cycle(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    _write(root, "__init__.py", "")
    _write(root, "a.py", "from . import b\n")
    _write(
        root,
        "b.py",
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg import a\n"
        "def later() -> None:\n    from pkg.a import b\n",
    )
    # A facade importing its own private modules, which import each other by name.
    _write(root, "face/__init__.py", "from pkg.face._one import one\n")
    _write(root, "face/_one.py", "from pkg.face import _two\n\none = _two.two\n")
    _write(root, "face/_two.py", "two = 2\n")

    graph = import_graph(root)
    assert graph["pkg.a"] == {"pkg.b"}
    assert graph["pkg.face._one"] == {"pkg.face._two"}
    assert cycles(graph) == []
