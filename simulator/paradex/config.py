"""The Paradex simulator's trading configuration (`ParadexTradingConfig`, overridden by `scenario.json` `trading.paradex`
through `paradex_config_from_settings`).

Its own module so that the venue's state (`simulator.paradex.state`), its mixins and `simulator.paradex.trading` all
import it without importing one another (`trading` imports `state`, never the other way round).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from simulator.paradex.scenario import ParadexTradingSettings


@dataclass(frozen=True)
class ParadexTradingConfig:
    """Engine set-up for the Paradex venue (`scenario.json` `trading.paradex` overrides any field, see
    `paradex_config_from_settings`).

    Attributes:
        levels, spread_bps, level_step_bps, replenish_ms: the market maker's depth (`LiquidityConfig`).
        notional_per_level: USD per level; the level size is `notional / initial mark` rounded down to the step
            (at least the market's minimum size).
        vol_bps, walk_step_ms, seed: the random walk of each mid (market i uses `seed + i`): one step of
            N(0, vol_bps) every `walk_step_ms` simulated ms (default 2.5 bps / 10 s, ~0.5 % an hour; a coarse
            step keeps two REST reads a few ms apart on the same book almost always).
        sync_interval_seconds: real seconds between background engine syncs (`Engine.run_forever`).
    """

    levels: int = 10
    spread_bps: Decimal = Decimal(4)
    level_step_bps: Decimal = Decimal(2)
    replenish_ms: int = 1000
    notional_per_level: Decimal = Decimal(100_000)
    vol_bps: Decimal = Decimal("2.5")
    walk_step_ms: int = 10_000
    seed: int = 7
    sync_interval_seconds: float = 0.05


def paradex_config_from_settings(settings: ParadexTradingSettings) -> ParadexTradingConfig:
    """`ParadexTradingConfig` defaults overridden by the fields `scenario.json` `trading.paradex` gives."""
    return replace(ParadexTradingConfig(), **settings.config_overrides())
