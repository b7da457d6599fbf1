"""Typed venue configs for tests: the library packages take `VenueConfig` / `TradingConfig`, never the app's
settings; these helpers build them for a URL or for the in-process simulator.

    config = sim_config(sim, "lighter")              # the simulator's Lighter, short timeouts
    trading = sim_trading(sim)                       # every simulated venue, for run_strategy
"""

from __future__ import annotations

from typing import Any

from exchange_clients.registry import default_config
from perparb_core.settings import HttpConfig, TradingConfig, VenueConfig
from simulator.server import SimulatorHandle
from strategies.paper import simulated_venue_urls

SIM_VENUES = ("hyperliquid", "lighter", "paradex")


def http(timeout: float = 5.0, retries: int = 1, backoff: float = 0.05) -> HttpConfig:
    return HttpConfig(timeout_seconds=timeout, retries=retries, backoff_seconds=backoff)


def venue_config(
    venue: str,
    rest_url: str | None = None,
    *,
    ws_url: str | None = None,
    timeout: float = 5.0,
    retries: int = 1,
    backoff: float = 0.05,
    **overrides: Any,
) -> VenueConfig:
    """`venue`'s config at `rest_url` (default: the venue's own default), with test-friendly HTTP settings."""
    values: dict[str, Any] = {"http": http(timeout, retries, backoff), **overrides}
    if rest_url is not None:
        values["rest_url"] = rest_url
    if ws_url is not None:
        values["ws_url"] = ws_url
    return default_config(venue, **values)


def sim_config(sim: SimulatorHandle, venue: str, **kw: Any) -> VenueConfig:
    """`venue`'s config pointing at the simulator `sim` (REST and WebSocket)."""
    rest, ws, _root = simulated_venue_urls(sim, venue)
    return venue_config(venue, rest, ws_url=ws, **kw)


def sim_trading(
    sim: SimulatorHandle,
    venues: tuple[str, ...] = SIM_VENUES,
    *,
    venue_timeout_seconds: float = 10,
    **kw: Any,
) -> TradingConfig:
    """A strategy run's config with `venues` on the simulator."""
    return TradingConfig(
        venues={v: sim_config(sim, v, **kw) for v in venues}, venue_timeout_seconds=venue_timeout_seconds
    )


def free_sim_ports() -> list[str]:
    """`perparb sim` options giving every simulated venue a free port (not its fixed default)."""
    from simulator.protocol import installed_protocols

    return [arg for name in installed_protocols() for arg in ("--port", f"{name}=0")]
