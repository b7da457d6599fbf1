"""The simulator's admin API as the soak uses it, venue-neutral (simulator/README.md "Faults and admin API").

A venue's market for a base asset is found in `GET /_sim/markets` (its `symbol` or `market` field starting with
the base: "ETH", "ETHUSDT", "ETH-USD-PERP", "ETH_USDC_PERP"); a venue's WebSocket skip fault is read from the
simulator's own refusal of an empty `POST /_sim/ws/faults` body, which lists the actions the venue offers.
Accounts are made with each venue's paper hooks (`VenueSpec.paper.new_credentials` / `prepare_account`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp

from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.registry import get_spec
from perparb_core.errors import PerparbError
from perparb_core.settings import VenueConfig
from strategies.paper import SimAdmin


class SoakVenueError(PerparbError):
    """The simulator refused an admin call the soak needs (the message names the venue, path and answer)."""


@dataclass
class SimVenue:
    """One simulated venue: `rest_url` (what the SDK uses), `root_url` (admin under `/_sim/`), the market of the
    soak's symbol, and the WebSocket fault actions it offers besides `drop_connections`."""

    name: str
    rest_url: str
    root_url: str
    market: str = ""
    ws_skip_actions: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)


def root_of(rest_url: str) -> str:
    """`http://host:port/v1` -> `http://host:port`."""
    scheme, rest = rest_url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


class SimAdminClient:
    """Admin calls on every venue of a running simulator; times each call (`SimVenue.latencies_ms`)."""

    def __init__(self, http: aiohttp.ClientSession, venues: Mapping[str, SimVenue]) -> None:
        self.http = http
        self.venues = dict(venues)

    async def call(self, venue: str, path: str, body: Any = None, method: str = "POST") -> Any:
        """The decoded answer of `method root/path` on `venue`.

        Raises:
            SoakVenueError: a non-200 answer (venue, path, status and the first 200 characters).
            aiohttp.ClientError / OSError: the simulator is not reachable.
        """
        v = self.venues[venue]
        began = time.perf_counter()
        async with self.http.request(method, v.root_url + path, json=body) as resp:
            text = await resp.text()
            v.latencies_ms.append((time.perf_counter() - began) * 1000)
            if resp.status != 200:
                raise SoakVenueError(f"{venue} {method} {path}: HTTP {resp.status} {text[:200]}")
            return await resp.json(content_type=None) if text else None

    async def discover(self, symbol: str) -> None:
        """Fill each venue's `market` (of `symbol`) and `ws_skip_actions`.

        Raises:
            SoakVenueError: a venue lists no market of `symbol`."""
        pattern = re.compile(rf"^{re.escape(symbol)}($|[-_/]|USD)")
        for name, v in self.venues.items():
            body = await self.call(name, "/_sim/markets", method="GET")
            names = [str(m.get("symbol") or m.get("market")) for m in body["markets"]]
            found = [n for n in names if pattern.match(n)]
            if not found:
                raise SoakVenueError(f"{name}: no market of {symbol!r} among {names[:10]}")
            v.market = found[0]
            async with self.http.post(v.root_url + "/_sim/ws/faults", json={}) as resp:
                text = await resp.text()
            v.ws_skip_actions = [a for a in re.findall(r"'([a-z_]+)'", text) if a != "drop_connections"]

    async def mark(self, venue: str) -> Decimal:
        """The venue's mark price of the soak's market (USD)."""
        v = self.venues[venue]
        body = await self.call(venue, f"/_sim/markets/{v.market}", method="GET")
        return Decimal(str(body["mark_price"]))

    async def set_mark(self, venue: str, price: Decimal) -> None:
        v = self.venues[venue]
        await self.call(venue, f"/_sim/markets/{v.market}/mark", {"price": str(price)})

    async def set_rate(self, venue: str, rate_hourly: Decimal) -> None:
        """The funding rate in force from now on (fraction per hour)."""
        v = self.venues[venue]
        await self.call(venue, f"/_sim/markets/{v.market}/funding", {"rate_hourly": str(rate_hourly)})

    async def provision(
        self, venue: str, config: VenueConfig, collateral_usd: Decimal
    ) -> tuple[BaseCredentials, dict[str, Any]]:
        """New test credentials of `venue` (its paper hooks), registered and funded on the simulator.

        Returns (credentials, the hook's answer: the venue's public account identifiers).

        Raises:
            SoakVenueError: the venue offers no test accounts. PaperError / venue errors of the hook.
        """
        hooks = get_spec(venue).paper
        if hooks is None or hooks.new_credentials is None:
            raise SoakVenueError(f"{venue}: no simulator test accounts (VenueSpec.paper.new_credentials)")
        v = self.venues[venue]
        creds = hooks.new_credentials()
        ids = await hooks.prepare_account(
            creds, config, SimAdmin(self.http, v.rest_url, v.root_url), collateral_usd
        )
        return creds, ids
