"""The layers point one way (DESIGN.md "Layout"), and nothing outside a venue's own packages names a venue.

Walks the imports of every module with `ast` (tests/layering.py):
* no library package imports the application package `perparb`;
* the core package imports nothing of this project;
* `exchange_clients/base` imports no venue package;
* no import cycle between packages, and each package imports only the layers below it;
* no venue name (identifier or string literal; docstrings may cite a venue's documentation) and no venue SDK import
  outside `exchange_clients/<venue>/` and `simulator/<venue>/`.
"""

from __future__ import annotations

from exchange_clients.registry import venue_specs
from tests.layering import (
    APP_PACKAGE,
    LIBRARY_PACKAGES,
    ROOT,
    cycles,
    imports_of,
    misplaced_mentions,
    package_graph,
    source_files,
    top,
    venue_mentions,
)

# Each package may import only these (besides itself); the order is DESIGN.md's, bottom to top.
ALLOWED: dict[str, set[str]] = {
    "perparb_core": set(),
    "exchange_clients": {"perparb_core"},
    "simulator": {"perparb_core"},
    "database": {"perparb_core", "exchange_clients"},
    "funding_rate_service": {"perparb_core", "exchange_clients", "database"},
    "strategies": {"perparb_core", "exchange_clients", "database", "funding_rate_service", "simulator"},
    "backtest": {"perparb_core", "exchange_clients", "database", "funding_rate_service", "strategies"},
    APP_PACKAGE: set(LIBRARY_PACKAGES),
}


def test_no_library_package_imports_the_app() -> None:
    offenders = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for path in source_files(LIBRARY_PACKAGES)
        for imp in imports_of(path)
        if top(imp.target) == APP_PACKAGE
    ]
    assert offenders == []


def test_each_package_imports_only_the_layers_below_it() -> None:
    graph = package_graph()
    extra = {pkg: sorted(deps - ALLOWED[pkg]) for pkg, deps in graph.items() if deps - ALLOWED[pkg]}
    assert extra == {}


def test_no_import_cycle_between_packages() -> None:
    assert cycles(package_graph()) == []


def test_exchange_clients_base_imports_no_venue_package() -> None:
    venues = set(venue_specs())
    offenders = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for path in sorted((ROOT / "exchange_clients" / "base").rglob("*.py"))
        for imp in imports_of(path)
        if imp.target.startswith("exchange_clients.") and imp.target.split(".")[1] in venues
    ]
    assert offenders == []


def test_no_venue_is_named_outside_its_own_packages() -> None:
    specs = venue_specs()
    sdks = [m for spec in specs.values() for m in spec.sdk_modules]
    assert [str(m) for m in misplaced_mentions(specs, sdks)] == []


def test_the_scan_finds_what_it_must() -> None:
    """The venue scan is not vacuous: it flags names in identifiers, strings and SDK imports, not docstrings."""
    probe = ROOT / "tests" / "_probe_scan.py"
    probe.write_text(
        '"""Lighter settles hourly (a docstring may cite the venue)."""\n'
        "import lighter\n"
        "from paradex_py import Paradex\n"
        "lighter_url = 'x'\n"
        "VENUE = 'paradex'\n"
        "def f(hyperliquid_key: int) -> str:\n"
        "    '''paradex in a docstring'''\n"
        "    return 'no venue here'\n"
    )
    try:
        found = venue_mentions(probe, ["lighter", "paradex", "hyperliquid"], ["lighter", "paradex_py"])
    finally:
        probe.unlink()
    kinds = sorted({(m.line, m.what) for m in found})
    assert kinds == [
        (2, "import"),
        (3, "identifier"),
        (3, "import"),
        (4, "identifier"),
        (5, "string"),
        (6, "identifier"),
    ]
