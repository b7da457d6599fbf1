"""The Lighter simulator's trading configuration (`LighterTradingConfig`, overridden by `scenario.json` `trading.lighter`
through `lighter_config_from_settings`).

Its own module so that the venue's state (`simulator.lighter.state`), its mixins and `simulator.lighter.trading` all
import it without importing one another (`trading` imports `state`, never the other way round).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from simulator.lighter.scenario import LighterTradingSettings


@dataclass
class LighterTradingConfig:
    """Tunables of the Lighter trading venue (defaults documented in `simulator/README.md`).

    Attributes:
        sync_interval_seconds: real seconds between background syncs (funding, liquidity, WebSocket pushes).
        replenish_ms: simulated ms before a hit market maker puts its orders back.
        levels / spread_bps / level_step_bps / level_notional: synthetic depth (markets without a recorded book):
            levels a side, best bid-ask distance and level spacing in bps of the mid, USD per level.
        walk_vol_bps / walk_step_ms / seed: the synthetic mid's random walk (seed + market id per market).
        volume_quota_remaining: the `volume_quota_remaining` of every `RespSendTx` (required by the SDK model;
            its meaning is not documented).
    """

    sync_interval_seconds: float = 0.05
    replenish_ms: int = 1000
    levels: int = 10
    spread_bps: Decimal = Decimal(4)
    level_step_bps: Decimal = Decimal(2)
    level_notional: Decimal = Decimal(50_000)
    walk_vol_bps: Decimal = Decimal(5)
    walk_step_ms: int = 1000
    seed: int = 7
    volume_quota_remaining: int = 1_000_000


def lighter_config_from_settings(settings: LighterTradingSettings) -> LighterTradingConfig:
    """`LighterTradingConfig` defaults overridden by the fields `scenario.json` `trading.lighter` gives."""
    return replace(LighterTradingConfig(), **settings.config_overrides())
