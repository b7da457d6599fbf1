"""Static checks of the source tree with `ast`: which packages import which, and where venues are named.

Used by tests/unit/test_layering.py; `python -m tests.layering` prints the findings.
"""

from __future__ import annotations

import ast
import itertools
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY_PACKAGES = (
    "perparb_core",
    "exchange_clients",
    "database",
    "funding_rate_service",
    "strategies",
    "backtest",
    "simulator",
)
APP_PACKAGE = "perparb"
PACKAGES = (*LIBRARY_PACKAGES, APP_PACKAGE)


def source_files(packages: Iterable[str] = PACKAGES) -> Iterator[Path]:
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations/versions" not in path.as_posix():
                yield path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (absolute)
    line: int
    lazy: bool  # inside a function (imported at call time)


def imports_of(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    out: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                out.extend(Import(me, a.name, child.lineno, lazy) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    target = ".".join([*base, child.module] if child.module else base)
                else:
                    target = child.module or ""
                out.append(Import(me, target, child.lineno, lazy))
            visit(child, inner)

    visit(tree, False)
    return out


def top(name: str) -> str:
    return name.split(".", 1)[0]


def package_graph(packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """{package: packages it imports (ours only, at import time or lazily)}."""
    ours = set(PACKAGES)
    graph: dict[str, set[str]] = {p: set() for p in packages}
    for path in source_files(packages):
        for imp in imports_of(path):
            src, dst = top(imp.module), top(imp.target)
            if dst in ours and dst != src:
                graph.setdefault(src, set()).add(dst)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by DFS from each node (small graphs)."""
    found: list[list[str]] = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                found.append([*path, start])
            elif nxt not in path and nxt > start:
                walk(start, nxt, [*path, nxt])

    for start in sorted(graph):
        walk(start, start, [start])
    return found


# ------------------------------------------------------------------------------------------- venue names


@dataclass(frozen=True)
class Mention:
    path: str
    line: int
    what: str  # "identifier" | "string" | "import"
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what} {self.text!r}"


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
        # attribute docstrings: a bare string statement right after an assignment
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for prev, stmt in itertools.pairwise(body):
                if (
                    isinstance(stmt, ast.Expr)
                    and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)
                    and isinstance(prev, (ast.Assign, ast.AnnAssign))
                ):
                    ids.add(id(stmt.value))
    return ids


def venue_mentions(path: Path, names: Iterable[str], sdk_modules: Iterable[str]) -> list[Mention]:
    """Where `path` names a venue in code: identifiers, string literals (docstrings excepted: they cite venue
    documentation as the source of rules) and imports of a venue package or SDK."""
    pattern = re.compile(r"(?<![a-z])(" + "|".join(re.escape(n.lower()) for n in names) + r")(?![a-z])")
    sdks = set(sdk_modules)
    rel = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstring_nodes(tree)
    found: list[Mention] = []
    for node in ast.walk(tree):
        texts: list[tuple[str, str]] = []
        if isinstance(node, ast.Name):
            texts.append(("identifier", node.id))
        elif isinstance(node, ast.Attribute):
            texts.append(("identifier", node.attr))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            texts.append(("identifier", node.name))
        elif isinstance(node, ast.arg):
            texts.append(("identifier", node.arg))
        elif isinstance(node, ast.keyword) and node.arg:
            texts.append(("identifier", node.arg))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            texts.append(("string", node.value))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                texts.append(("import", alias.name))
                if top(alias.name) in sdks:
                    found.append(Mention(rel, node.lineno, "import", alias.name))
        elif isinstance(node, ast.ImportFrom) and node.module:
            texts.append(("import", node.module))
            if top(node.module) in sdks:
                found.append(Mention(rel, node.lineno, "import", node.module))
            for alias in node.names:
                texts.append(("identifier", alias.name))
        for what, text in texts:
            if pattern.search(text.lower()):
                found.append(Mention(rel, getattr(node, "lineno", 0), what, text))
    return found


def venue_home(path: Path, names: Iterable[str]) -> bool:
    """True for files inside a venue's own packages: exchange_clients/<venue>/ or simulator/<venue>/."""
    parts = path.relative_to(ROOT).parts
    return len(parts) > 2 and parts[0] in ("exchange_clients", "simulator") and parts[1] in set(names)


def misplaced_mentions(names: Iterable[str], sdk_modules: Iterable[str]) -> list[Mention]:
    names = list(names)
    out: list[Mention] = []
    for path in source_files():
        if not venue_home(path, names):
            out.extend(venue_mentions(path, names, sdk_modules))
    return out


if __name__ == "__main__":
    from exchange_clients.registry import venue_specs

    specs = venue_specs()
    sdks = [m for s in specs.values() for m in s.sdk_modules]
    for m in misplaced_mentions(specs, sdks):
        print(m)
    graph = package_graph()
    for pkg, deps in sorted(graph.items()):
        print(f"{pkg} -> {sorted(deps)}")
    print("cycles:", cycles(graph))
    sys.exit(0)
