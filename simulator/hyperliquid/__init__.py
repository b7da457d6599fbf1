"""The simulated Hyperliquid venue (`PROTOCOL`): `POST /info`, `POST /exchange` (signatures VERIFIED), the `/ws`
WebSocket, admin routes and the Hyperliquid trading protocol on the venue-neutral engine, served from the
scenario's `hyperliquid/` folder. hyperliquid-python-sdk and perparb's Hyperliquid client talk to it as to the venue
(`simulator/README.md`, "Hyperliquid").

| module             | role                                                                                   |
|--------------------|----------------------------------------------------------------------------------------|
| `app.py`           | the aiohttp application (`build_hyperliquid_app`): `/info`, `/exchange`, `/ws`, admin  |
| `trading.py`       | `HyperliquidTrading`: engine set-up from the scenario, background sync                 |
| `state.py`         | `HyperliquidState`: what the concerns share, accounts per (address, dex)              |
| `auth.py`          | signature recovery (the SDK's), approved agents, nonces                                |
| `actions.py`       | `POST /exchange`: order, cancel, cancelByCloid, updateLeverage, approveAgent (`ActionsMixin`) |
| `info.py`          | `POST /info`: market data and account reads (`InfoMixin`)                               |
| `account.py`       | clearinghouseState, orders, fills, funding bodies (`AccountMixin`)                     |
| `feeds.py`         | engine events -> account channels and `trades` (`FeedsMixin`)                          |
| `stream.py`        | `/ws` sessions (`StreamSession`): subscriptions, polled public channels                |
| `admin.py`         | admin API (`AdminMixin`, `add_trading_admin_routes`)                                   |
| `markets.py`       | universe row -> `MarketSpec`, `HYPERLIQUID_RULES`, price rule, asset ids               |
| `wire.py`          | Hyperliquid's spellings of engine values: numbers, status words, rows                  |
| `scenario.py`      | `DIR/hyperliquid/` reader (`HyperliquidData`), `trading.hyperliquid` settings          |
| `demo.py`          | the venue's part of the SYNTHETIC demo scenario                                        |
| `recordings.py`    | `DIR/hyperliquid/` from `../shared/venue-data/hyperliquid/`                            |
"""

from __future__ import annotations

from aiohttp import web

from simulator.hyperliquid.app import build_hyperliquid_app, hyperliquid_error_body
from simulator.hyperliquid.demo import write_demo
from simulator.hyperliquid.recordings import write_hyperliquid_recordings
from simulator.hyperliquid.scenario import VENUE, HyperliquidTradingSettings, read_hyperliquid_folder
from simulator.protocol import SimVenueProtocol, VenueContext


def _build_app(context: VenueContext) -> web.Application:
    return build_hyperliquid_app(
        context.scenario, context.clock, context.faults, push_interval_seconds=context.push_interval_seconds
    )


PROTOCOL = SimVenueProtocol(
    name=VENUE,
    build_app=_build_app,
    error_body=hyperliquid_error_body,
    rest_path="",  # Info(base_url="http://127.0.0.1:P"), POST /info and /exchange under it
    ws_path="/ws",
    read_folder=read_hyperliquid_folder,
    trading_settings=HyperliquidTradingSettings,
    write_recordings=write_hyperliquid_recordings,
    write_demo=write_demo,
    default_port=8803,
)
