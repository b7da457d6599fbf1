"""Helpers for strategy tests: a vault, an account stored in it whose keys are registered and funded on the
in-process simulator (Lighter API key + collateral; Paradex L1 key onboarded + collateral; Aster API wallet
registered + collateral; Backpack ED25519 key registered + collateral; Hyperliquid account funded + an agent key
approved for it), settings pointing at the simulator, admin calls, and what each venue calls its ETH market, its
order placement path and its positions (`VENUE_KIT`), so tests can run over pairs of venues.

    vault = test_vault()
    await sim_account(engine, vault, sim, "alice", collateral="100000")
    settings = sim_settings(sim)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
from eth_account import Account
from lighter.signer_client import create_api_key
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from database.accounts import add_account
from database.vault import Vault, encode_key, new_key
from exchange_clients.aster.credentials import AsterCredentials
from exchange_clients.backpack.credentials import BackpackCredentials, new_key_pair
from exchange_clients.hyperliquid.credentials import HyperliquidCredentials
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.client.session import ParadexSession
from exchange_clients.paradex.credentials import ParadexCredentials
from perparb.settings import Settings
from perparb_core.settings import TradingConfig
from simulator.server import SimulatorHandle
from strategies import state
from strategies.runner import RunOptions, run_strategy
from tests.configs import sim_config, sim_trading

D = Decimal
_next_lighter_account = [20_000]


def test_vault() -> Vault:
    """A vault with a fresh random key (`master_key_text(vault)` gives PERPARB_MASTER_KEY for a child process)."""
    return Vault.from_key(new_key())


test_vault.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def master_key_text(vault: Vault) -> str:
    return encode_key(vault.keys[vault.current_id])


def sim_settings(sim: SimulatorHandle, **overrides: Any) -> TradingConfig:
    """A strategy run's config on the simulator (every simulated venue, 5 s timeouts, 1 retry, 10 s venue budget)."""
    venue_timeout = float(overrides.pop("venue_timeout_seconds", 10))
    return sim_trading(sim, venue_timeout_seconds=venue_timeout, **overrides)


def paradex_root(sim: SimulatorHandle) -> str:
    return sim.url("paradex").removesuffix("/v1")


@dataclass(frozen=True)
class VenueKit:
    """What a venue calls things, for tests that run on any simulated venue: its ETH market (admin and positions),
    the path its client places orders on (HTTP fault targets), the key of its account ids in `sim_account`'s
    answer, the smallest ETH size it trades (a size step or minimum base amount; a minimum VALUE such as
    Hyperliquid's $10 is not a size), and how many POSTs to `order_path` a run makes before its first entry order
    (Hyperliquid's leverage change is an `/exchange` action too), which faults aimed at a placement skip."""

    eth: str
    order_path: str
    account_key: str
    eth_min_size: Decimal
    posts_before_entry: int = 0


VENUE_KIT = {
    "lighter": VenueKit("ETH", "/api/v1/sendTx", "lighter_account", D("0.0028")),
    "paradex": VenueKit("ETH-USD-PERP", "/v1/orders", "paradex_address", D("0.0001")),
    "aster": VenueKit("ETHUSDT", "/fapi/v3/order", "aster_user", D("0.0001")),
    "backpack": VenueKit("ETH_USDC_PERP", "/api/v1/order", "backpack_account", D("0.0001")),
    "hyperliquid": VenueKit("ETH", "/exchange", "hyperliquid_address", D("0.0001"), posts_before_entry=1),
}


async def eth_position(sim: SimulatorHandle, venue: str, ids: dict[str, Any]) -> tuple[Decimal, list[Any]]:
    """(the account's ETH position on `venue`, its open orders) from the simulator's admin view."""
    kit = VENUE_KIT[venue]
    view = await admin(sim, venue, f"/_sim/accounts/{ids[kit.account_key]}", method="GET")
    size = sum((D(p["size"]) for p in view["positions"] if p.get("symbol", p.get("market")) == kit.eth), D(0))
    return size, view.get("open_orders", [])


async def admin(sim: SimulatorHandle, venue: str, path: str, body: Any = None, method: str = "POST") -> Any:
    """Call the simulator's admin API (`/_sim/...`) of `venue`; asserts HTTP 200."""
    root = sim.venues[venue].root_url
    async with aiohttp.ClientSession() as http, http.request(method, root + path, json=body) as resp:
        text = await resp.text()
        assert resp.status == 200, (path, resp.status, text)
        return await resp.json() if text else None


async def sim_account(
    engine: AsyncEngine,
    vault: Vault,
    sim: SimulatorHandle,
    name: str,
    *,
    venues: tuple[str, ...] = ("lighter", "paradex"),
    collateral: str = "100000",
) -> dict[str, Any]:
    """Create account `name` in the vault with fresh keys registered and funded on `sim`.

    Returns {"lighter_account": int, "paradex_address": str, "aster_user": str, "backpack_account": int,
    "hyperliquid_address": str} for the venues created (Backpack: a fresh ED25519 key pair whose public key the
    simulator registers; its engine account id).
    """
    out: dict[str, Any] = {}
    if "aster" in venues:
        user, signer = Account.create(), Account.create()
        await admin(sim, "aster", "/_sim/aster/agents", {"user": user.address, "signer": signer.address})
        await admin(sim, "aster", "/_sim/accounts", {"user": user.address, "collateral": collateral})
        acreds = AsterCredentials(user_address=user.address, signer_private_key=SecretStr(signer.key.hex()))
        await add_account(engine, vault, name=name, creds=acreds)
        out["aster_user"] = user.address.lower()
    if "lighter" in venues:
        _next_lighter_account[0] += 1
        index = _next_lighter_account[0]
        private_key, public_key, err = create_api_key()
        assert err is None
        await admin(
            sim,
            "lighter",
            "/_sim/lighter/apikeys",
            {"account_index": index, "api_key_index": 3, "public_key": public_key},
        )
        await admin(sim, "lighter", "/_sim/accounts", {"account_index": index, "collateral": collateral})
        creds = LighterCredentials(
            account_index=index, api_key_index=3, api_private_key=SecretStr(private_key)
        )
        await add_account(engine, vault, name=name, creds=creds)
        out["lighter_account"] = index
    if "paradex" in venues:
        eth = Account.create()
        pcreds = ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex()))
        session = ParadexSession(pcreds, sim_config(sim, "paradex"))
        await session.open()
        address = session.account_address
        await session.close()
        await admin(sim, "paradex", "/_sim/accounts", {"address": address, "collateral": collateral})
        await add_account(engine, vault, name=name, creds=pcreds)
        out["paradex_address"] = address
    if "backpack" in venues:
        api_key, api_secret = new_key_pair()
        view = await admin(sim, "backpack", "/_sim/accounts", {"api_key": api_key, "collateral": collateral})
        bcreds = BackpackCredentials(api_key=api_key, api_secret=SecretStr(api_secret))
        await add_account(engine, vault, name=name, creds=bcreds)
        out["backpack_account"] = view["engine_account_id"]
    if "hyperliquid" in venues:
        owner, agent = Account.create(), Account.create()
        await admin(
            sim, "hyperliquid", "/_sim/accounts", {"address": owner.address, "collateral": collateral}
        )
        await admin(
            sim, "hyperliquid", "/_sim/hyperliquid/agents", {"user": owner.address, "agent": agent.address}
        )
        hcreds = HyperliquidCredentials(
            account_address=owner.address, agent_private_key=SecretStr(agent.key.hex())
        )
        await add_account(engine, vault, name=name, creds=hcreds)
        out["hyperliquid_address"] = owner.address.lower()
    return out


async def set_market(
    sim: SimulatorHandle, venue: str, market: str, *, mark: str | None = None, rate_hourly: str | None = None
) -> None:
    """Pin a market's mark price and/or funding rate (fraction per hour) on the simulator. `market`: Lighter
    symbol ("ETH"), Paradex symbol ("ETH-USD-PERP"), Aster symbol ("ETHUSDT"), Backpack symbol ("ETH_USDC_PERP") or
    Hyperliquid coin ("ETH")."""
    if mark is not None:
        await admin(sim, venue, f"/_sim/markets/{market}/mark", {"price": mark})
    if rate_hourly is not None:
        await admin(sim, venue, f"/_sim/markets/{market}/funding", {"rate_hourly": rate_hourly})


async def until(cond: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not await cond():
        assert loop.time() < end, f"{what} not reached in {timeout} s"
        await asyncio.sleep(0.05)


async def paper_run_positions(
    engine: AsyncEngine, vault: Vault, config: Any, account: str, cycles: int = 2
) -> tuple[Any, list[Any]]:
    """Run `config` on paper for `account` for `cycles` cycles with the shipped (mainnet) settings, which paper
    must not use, and return (the run summary, its positions: symbol, long_venue, short_venue, status,
    exit_reason, quantity, target_quantity). Asserts the run stopped after `cycles` cycles."""
    run = await run_strategy(
        config,
        account,
        engine=engine,
        vault=vault,
        settings=Settings(_env_file=None).trading_config(),  # type: ignore[call-arg]  # mainnet URLs: paper must not use them
        options=RunOptions(paper=True, max_cycles=cycles, interval_seconds=0.5),
    )
    assert (run.status, run.cycles) == ("stopped", cycles)
    p = state.POSITIONS.c
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    p.symbol,
                    p.long_venue,
                    p.short_venue,
                    p.status,
                    p.exit_reason,
                    p.quantity,
                    p.target_quantity,
                ).where(p.run_id == run.run_id)
            )
        ).all()
    return run, list(rows)
