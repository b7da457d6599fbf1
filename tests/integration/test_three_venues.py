"""Strategies on three venues (issue #13 part 5): `configs/hyperliquid_lighter_paradex.example.yaml` backtests on the shared year
of Hyperliquid (+ Binance, Bybit) settled funding with Hyperliquid as a leg, and the SAME file paper-trades
Hyperliquid, Lighter and Paradex on the in-process simulator (history-only venues are not traded); the grid runs
on Hyperliquid in paper mode.

Paper: the demo scenario's designed spreads (`simulator/scenarios/demo_assets.json`, fractions per hour) clear the
file's 15 % net APR: ETH Hyperliquid -0.0020 %/h vs Lighter +0.0030 %/h (the best ETH pair), BTC Paradex +0.0008 %/h
vs Hyperliquid +0.0045 %/h, SOL Lighter -0.0020 %/h vs Paradex +0.0015 %/h; one position per asset.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account
from lighter.signer_client import create_api_key
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backtest.engine import run_backtest
from backtest.loader import load_history
from backtest.report import build_report
from database.accounts import add_account
from database.vault import Vault
from exchange_clients.hyperliquid.credentials import HyperliquidCredentials
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.credentials import ParadexCredentials
from perparb.settings import Settings
from strategies import state
from strategies.config import FundingArbitrageConfig, GridConfig, load_config, parse_config
from strategies.runner import RunError, RunOptions, run_strategy
from tests.conftest import PROJECT
from tests.integration.strategy_support import test_vault
from tests.shared_data import shared_path

pytestmark = pytest.mark.integration

D = Decimal
THREE = PROJECT / "configs" / "hyperliquid_lighter_paradex.example.yaml"


async def add_three_venue_account(engine: AsyncEngine, vault: Vault, name: str, index: int) -> None:
    private_key, _public, err = create_api_key()
    assert err is None
    eth, owner, agent = Account.create(), Account.create(), Account.create()
    for creds in (
        LighterCredentials(account_index=index, api_key_index=3, api_private_key=SecretStr(private_key)),
        ParadexCredentials(l1_address=eth.address, l1_private_key=SecretStr(eth.key.hex())),
        HyperliquidCredentials(account_address=owner.address, agent_private_key=SecretStr(agent.key.hex())),
    ):
        await add_account(engine, vault, name=name, creds=creds)


def mainnet_settings() -> object:
    return Settings(_env_file=None).trading_config()  # type: ignore[call-arg]  # paper must not use these URLs


async def test_three_venue_config_backtests_on_the_shared_history_and_paper_trades_unchanged(
    engine: AsyncEngine,
) -> None:
    config = load_config(THREE)
    assert isinstance(config, FundingArbitrageConfig)
    assert config.traded_venues == ["hyperliquid", "lighter", "paradex"]

    # backtest: the real year of settled funding (../shared/funding-history), Hyperliquid among the venues
    history = load_history(shared_path("funding-history"), venues=config.venues)
    report = build_report(run_backtest(config, history))
    assert set(report.venues) == {"binance", "bybit", "hyperliquid"} and report.entries > 0
    result = run_backtest(config, history)
    with_hl = [p for p in result.positions if "hyperliquid" in (p.long_venue, p.short_venue)]
    assert with_hl and all(p.symbol in config.symbol_set for p in result.positions)

    # paper: the same file, the same strategy code, the in-process simulator (binance / bybit not traded)
    vault = test_vault()
    await add_three_venue_account(engine, vault, "three", 4343)
    run = await run_strategy(
        config,
        "three",
        engine=engine,
        vault=vault,
        settings=mainnet_settings(),  # type: ignore[arg-type]
        options=RunOptions(paper=True, max_cycles=2, interval_seconds=0.5),
    )
    assert (run.status, run.cycles) == ("stopped", 2)
    async with engine.connect() as conn:
        runs = (
            await conn.execute(
                select(state.RUNS.c.mode, state.RUNS.c.venues).where(state.RUNS.c.id == run.run_id)
            )
        ).one()
        opened = (
            await conn.execute(
                select(
                    state.POSITIONS.c.symbol,
                    state.POSITIONS.c.long_venue,
                    state.POSITIONS.c.short_venue,
                    state.POSITIONS.c.quantity,
                    state.POSITIONS.c.exit_reason,
                ).where(state.POSITIONS.c.run_id == run.run_id)
            )
        ).all()
    assert runs.mode == "paper" and list(runs.venues) == ["hyperliquid", "lighter", "paradex"]
    pairs = {p.symbol: (p.long_venue, p.short_venue) for p in opened}
    assert pairs["ETH"] == ("hyperliquid", "lighter"), pairs  # the best ETH pair of the demo
    assert any("hyperliquid" in legs for legs in pairs.values())
    for p in opened:
        assert p.quantity > 0 and p.exit_reason == "paper_session_ended"  # its simulator ended with the run


async def test_a_config_trading_fewer_than_two_venues_is_refused(engine: AsyncEngine) -> None:
    data = load_config(THREE).model_dump(mode="json")
    data["venues"] = ["hyperliquid", "binance", "bybit"]  # backtests fine; one tradeable venue
    config = parse_config(data)
    vault = test_vault()
    await add_three_venue_account(engine, vault, "one-tradeable", 4344)
    with pytest.raises(RunError, match=r"trades fewer than two venues \(\['hyperliquid'\]\).*history-only"):
        await run_strategy(
            config,
            "one-tradeable",
            engine=engine,
            vault=vault,
            settings=mainnet_settings(),  # type: ignore[arg-type]
            options=RunOptions(paper=True, max_cycles=1),
        )


async def test_grid_paper_trades_on_hyperliquid(engine: AsyncEngine) -> None:
    config = parse_config(
        {
            "strategy": "grid",
            "name": "hl-grid",
            "venue": "hyperliquid",
            "symbol": "ETH",
            "lower_price": "3500",
            "upper_price": "3700",
            "levels": 5,
            "quantity_per_level": "0.05",
            "max_position": "1",
            "leverage": "5",
        }
    )
    assert isinstance(config, GridConfig)
    vault = test_vault()
    await add_three_venue_account(engine, vault, "hl-grid", 4345)
    run = await run_strategy(
        config,
        "hl-grid",
        engine=engine,
        vault=vault,
        settings=mainnet_settings(),  # type: ignore[arg-type]
        options=RunOptions(paper=True, max_cycles=3, interval_seconds=0.2),
    )
    assert (run.status, run.reason) == ("stopped", "max_cycles 3")
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    state.ORDERS.c.venue, state.ORDERS.c.side, state.ORDERS.c.price, state.ORDERS.c.status
                ).where(state.ORDERS.c.run_id == run.run_id)
            )
        ).all()
    # the demo's ETH mark 3600.2: BUYs at 3500 and 3550, SELLs at 3650 and 3700 (the level at 3600 is the mid's)
    placed = sorted((r.side, r.price) for r in rows if r.venue == "hyperliquid")
    assert placed == [("buy", D(3500)), ("buy", D(3550)), ("sell", D(3650)), ("sell", D(3700))], rows
