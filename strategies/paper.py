"""Paper mode: the account's venues replaced by the simulator, started in this process.

`perparb run FILE --account NAME --paper` (`strategies.runner`, `RunOptions(paper=True)`) calls
`start_paper_venues`: it starts `simulator.server.start_simulator` on loopback (scenario folder, default the
shipped demo one, `simulator/scenarios/demo`; clock at `speed` simulated seconds per real second), makes the
account's own credentials valid there and funds each venue account with `collateral_usd` USDC. The run then
builds its clients with the returned `settings`, whose venue configs point at the simulator, so the SAME
strategy code trades simulated venues. **Nothing of a paper run touches a real venue**: no URL of the returned
configs leaves 127.0.0.1, and the account's keys are only ever sent to the in-process simulator.

How an account's credentials are made valid on the simulator is each venue's own business: its `VenueSpec.paper`
hooks (`PaperHooks.prepare_account`, e.g. `exchange_clients/<venue>/paper.py`), given the venue's config pointed
at the simulator and a `SimulatorAdmin` for the simulator's admin API (`simulator/README.md`). A venue without
hooks, or without a simulator protocol, cannot be paper-traded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

from database.accounts import AccountCredentials
from exchange_clients.registry import get_spec, venue_specs
from perparb_core.errors import PerparbError
from perparb_core.settings import TradingConfig, VenueConfig
from simulator.server import DEMO_SCENARIO, SimulatorHandle, start_simulator

log = logging.getLogger(__name__)


class PaperError(PerparbError):
    """Paper venues could not be prepared (venue not simulated, credentials the simulator cannot accept)."""


@dataclass
class PaperVenues:
    """The running paper venues.

    Attributes:
        settings: a copy of the caller's trading config whose venue configs point at the in-process simulator
            (everything else unchanged).
        sim: the simulator handle (admin routes, `sim.clock`, fault injectors).
        accounts: per venue, the simulator account funded (the venue hook's answer, e.g.
            {"account_index": int} or {"address": "0x..."}).
    """

    settings: TradingConfig
    sim: SimulatorHandle
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def now(self) -> datetime:
        """The simulator clock (`sim.clock.now_us()`) as an aware UTC datetime; runs at the paper `speed`."""
        return datetime.fromtimestamp(self.sim.clock.now_us() / 1_000_000, tz=timezone.utc)

    async def stop(self) -> None:
        """Stop the simulator (listeners, WebSockets, engines). Idempotent."""
        await self.sim.stop()


@dataclass
class SimAdmin:
    """The simulator's admin API of one venue (`exchange_clients.base.spec.SimulatorAdmin`).

    Attributes:
        rest_url: the venue's REST base on the simulator; root_url: the server root (admin under `/_sim/`).
    """

    http: aiohttp.ClientSession
    rest_url: str
    root_url: str

    async def post(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST `root_url + path`. Raises PaperError with the simulator's answer on a non-200."""
        async with self.http.post(self.root_url + path, json=dict(body)) as resp:
            text = await resp.text()
            if resp.status != 200:
                raise PaperError(f"simulator refused {path}: HTTP {resp.status} {text[:200]}")
            return await resp.json() if text else None


def simulated_venue_urls(sim: SimulatorHandle, venue: str) -> tuple[str, str, str]:
    """(REST base the SDK uses, WebSocket URL, server root where `/_sim/` lives) of `venue` on the simulator. A
    sub-venue ("<parent>:<sub>", `VenueSpec.parent`) is served by its parent's simulated server (the sub-venue is a
    request parameter of the parent's protocol, e.g. a HIP-3 perp dex).

    Raises:
        PaperError: the simulator does not serve `venue` (nor its parent).
    """
    served = sim.venues.get(venue)
    if served is None and ":" in venue:
        try:
            parent = get_spec(venue).parent
        except PerparbError:
            parent = None
        served = sim.venues.get(parent) if parent else None
    if served is None:
        raise PaperError(f"the simulator does not serve {venue!r} (it serves {sorted(sim.venues)})")
    return served.url, served.ws_url, served.root_url


def paper_configs(base: TradingConfig, venues: list[str], sim: SimulatorHandle) -> TradingConfig:
    """`base` with the configs of `venues` pointed at the simulator (no other field changes)."""
    pointed: dict[str, VenueConfig] = {}
    for venue in venues:
        rest, ws, _root = simulated_venue_urls(sim, venue)
        config = base.venues.get(venue) or get_spec(venue).default_config()
        pointed[venue] = config.pointed_at(rest, ws)
    return base.with_venues(pointed)


async def start_paper_venues(
    account: AccountCredentials,
    venues: list[str],
    settings: TradingConfig,
    *,
    scenario: Path | None,
    speed: float,
    collateral_usd: Decimal,
) -> PaperVenues:
    """Start the simulator in process and make `account` trade there on `venues` (see the module docstring).

    Args:
        account: the account as loaded from the vault (credentials for every venue of `venues`).
        venues: venues the run trades; each must have paper hooks and a simulator protocol.
        settings: the run's trading config; the returned copy differs only in the venues' URLs.
        scenario: simulator scenario folder (None = `simulator.server.DEMO_SCENARIO`).
        speed: simulated seconds per real second (> 0; 3600 = one funding hour per second).
        collateral_usd: USDC deposited into each venue account (> 0).

    Returns:
        `PaperVenues` (settings, sim, now(), stop()). The caller must `await stop()`.

    Raises:
        PaperError: a venue the simulator does not provide, non-positive collateral, an admin call refused.
        ValueError: speed <= 0. ScenarioError: unusable scenario folder.
        CredentialsError: the account lacks credentials for one of `venues`.
        UnknownVenueError: a venue that is not installed.
        Venue errors of the venue hooks (e.g. onboarding against the simulator).
    """
    simulated = [
        name for name, spec in venue_specs().items() if spec.paper is not None and spec.simulator_protocol
    ]
    unknown = [v for v in venues if v not in simulated]
    if unknown:
        raise PaperError(f"paper mode simulates {simulated}, not {unknown}")
    if collateral_usd <= 0:
        raise PaperError(f"paper collateral must be positive, got {collateral_usd}")
    if speed <= 0:
        raise ValueError(f"paper speed must be positive, got {speed}")
    creds = {v: account.for_venue(v) for v in venues}
    sim = await start_simulator(scenario or DEMO_SCENARIO, speed=speed)
    try:
        paper = PaperVenues(settings=paper_configs(settings, venues, sim), sim=sim)
        async with aiohttp.ClientSession() as http:
            for venue, c in creds.items():
                rest, _ws, root = simulated_venue_urls(sim, venue)
                hooks = get_spec(venue).paper
                assert hooks is not None  # checked above
                admin = SimAdmin(http, rest, root)
                paper.accounts[venue] = await hooks.prepare_account(
                    c, paper.settings.venue(venue), admin, collateral_usd
                )
    except BaseException:
        await sim.stop()
        raise
    log.info(
        "paper venues for account %r: %s on the in-process simulator (%s, speed %gx), %s USDC each",
        account.name,
        venues,
        (scenario or DEMO_SCENARIO).name,
        speed,
        collateral_usd,
    )
    return paper
