"""The simulator's layout rules (issue #12): no module over 650 lines, and a venue-neutral core.

`simulator/engine/` and the top-level `simulator/*.py` modules name no venue in identifiers or string literals
(docstrings may cite a venue's documentation as the source of a rule; comments are not code) and import no venue
SDK. Everything venue-specific lives in `simulator/<venue>/`, whose packages may do both.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from simulator.protocol import installed_protocols

SIMULATOR = Path(__file__).resolve().parents[2] / "simulator"
MAX_LINES = 650
# Installed venue protocols plus the other venues the project names (DESIGN.md layout, reference rates).
OTHER_VENUES = ("hyperliquid", "aster", "backpack", "binance", "bybit")
VENUE_SDKS = ("lighter", "paradex_py", "starknet_py", "eth_account")


def all_modules() -> list[Path]:
    return sorted(SIMULATOR.rglob("*.py"))


def core_modules() -> list[Path]:
    """Top-level `simulator/*.py` and everything under `simulator/engine/`."""
    return sorted([*SIMULATOR.glob("*.py"), *(SIMULATOR / "engine").rglob("*.py")])


def venue_names() -> tuple[str, ...]:
    return tuple(sorted({*installed_protocols(), *OTHER_VENUES}))


def docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (module, class, function)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                out.add(id(body[0].value))
    return out


def names_and_strings(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, kind, text) of every identifier and non-docstring string literal in `tree`."""
    skip = docstring_nodes(tree)
    found: list[tuple[int, str, str]] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            found.append((line, "string", node.value))
        elif isinstance(node, ast.Name):
            found.append((line, "name", node.id))
        elif isinstance(node, ast.Attribute):
            found.append((line, "attribute", node.attr))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.append((line, "definition", node.name))
        elif isinstance(node, ast.arg):
            found.append((line, "argument", node.arg))
        elif isinstance(node, ast.keyword) and node.arg:
            found.append((line, "keyword", node.arg))
        elif isinstance(node, ast.alias):
            found.append((line, "import", node.asname or node.name))
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((line, "import", node.module))
    return found


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def test_every_venue_has_a_package_and_the_core_modules_exist() -> None:
    assert set(installed_protocols()) >= {"lighter", "paradex"}
    for name in installed_protocols():
        assert (SIMULATOR / name / "__init__.py").is_file()
    assert len(core_modules()) > 20  # the scan below really looks at something


def test_no_simulator_module_exceeds_650_lines() -> None:
    too_long = {
        str(path.relative_to(SIMULATOR)): n
        for path in all_modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"simulator modules over {MAX_LINES} lines: {too_long}"


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(SIMULATOR)))
def test_core_modules_name_no_venue(path: Path) -> None:
    pattern = re.compile("|".join(venue_names()), re.IGNORECASE)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hits = [
        f"line {line}: {kind} {text[:60]!r}"
        for line, kind, text in names_and_strings(tree)
        if pattern.search(text)
    ]
    assert not hits, f"{path.relative_to(SIMULATOR)} names a venue outside simulator/<venue>/: {hits}"


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(SIMULATOR)))
def test_core_modules_import_no_venue_sdk(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hits = [
        f"line {line}: import {module}"
        for line, module in imported_modules(tree)
        if module.split(".")[0] in VENUE_SDKS
    ]
    assert not hits, f"{path.relative_to(SIMULATOR)} imports a venue SDK: {hits}"


def test_the_scan_sees_venue_names_and_sdk_imports() -> None:
    """The checks above do find what they look for (on venue code, where it is allowed)."""
    pattern = re.compile("|".join(venue_names()), re.IGNORECASE)
    lighter_app = ast.parse((SIMULATOR / "lighter" / "app.py").read_text(encoding="utf-8"))
    assert any(pattern.search(text) for _, _, text in names_and_strings(lighter_app))
    sample = ast.parse('"""lighter in a docstring is fine."""\nimport paradex_py.api\nx = "ok"\n')
    assert not any(
        pattern.search(text) for _, _, text in names_and_strings(sample) if text != "paradex_py.api"
    )
    assert [m for _, m in imported_modules(sample)] == ["paradex_py.api"]
