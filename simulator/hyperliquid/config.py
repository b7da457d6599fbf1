"""The Hyperliquid simulator's trading configuration (`HyperliquidTradingConfig`, overridden by `scenario.json` `trading.hyperliquid`
through `hyperliquid_config_from_settings`).

Its own module so that the venue's state (`simulator.hyperliquid.state`), its mixins and `simulator.hyperliquid.trading` all
import it without importing one another (`trading` imports `state`, never the other way round).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from simulator.hyperliquid.scenario import HyperliquidTradingSettings


@dataclass(frozen=True)
class HyperliquidTradingConfig:
    """Engine set-up for the Hyperliquid venue (`scenario.json` `trading.hyperliquid` overrides any field).

    Attributes:
        levels, spread_bps, level_step_bps, replenish_ms: the market maker's depth (`LiquidityConfig`).
        notional_per_level: USD per level; the level size is `notional / initial mark` rounded down to the step.
        vol_bps, walk_step_ms, seed: the random walk of each mid (coin i uses `seed + i`), as Paradex's.
        sync_interval_seconds: real seconds between background engine syncs (`Engine.run_forever`).
    """

    levels: int = 10
    spread_bps: Decimal = Decimal(4)
    level_step_bps: Decimal = Decimal(2)
    replenish_ms: int = 1000
    notional_per_level: Decimal = Decimal(100_000)
    vol_bps: Decimal = Decimal("2.5")
    walk_step_ms: int = 10_000
    seed: int = 13
    sync_interval_seconds: float = 0.05


def hyperliquid_config_from_settings(settings: HyperliquidTradingSettings) -> HyperliquidTradingConfig:
    """`HyperliquidTradingConfig` defaults overridden by the fields `scenario.json` `trading.hyperliquid` gives."""
    return replace(HyperliquidTradingConfig(), **settings.config_overrides())
