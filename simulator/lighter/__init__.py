"""The simulated Lighter venue (`PROTOCOL`): REST routes, the `/stream` WebSocket, API keys, admin routes and the
Lighter trading protocol on the venue-neutral engine. lighter-sdk talks to it as to the venue (`simulator/README.md`,
"Lighter", "Trading: Lighter").

| module            | role                                                                                   |
|-------------------|----------------------------------------------------------------------------------------|
| `api.py`          | the aiohttp app (`build_lighter_app`): market-data REST, `/stream`, mounting the rest  |
| `trading.py`      | `LighterTrading`: engine set-up, transactions, bodies, stream hub, trading admin       |
| `auth.py`         | API keys (`apikeys`, `nextNonce`) and `/_sim/lighter/apikeys`                          |
| `markets.py`      | orderBookDetails row -> `MarketSpec`, `LIGHTER_RULES`                                  |
| `wire.py`         | Lighter's spellings of engine values (order status words)                              |
| `scenario.py`     | `DIR/lighter/` reader (`LighterData`), `trading.lighter` settings                      |
| `recordings.py`   | `DIR/lighter/` from `../shared/venue-data/lighter/`                                    |
"""

from __future__ import annotations

from aiohttp import web

from simulator.lighter.api import build_lighter_app, lighter_error_body
from simulator.lighter.recordings import write_lighter_recordings
from simulator.lighter.scenario import NETWORK_ID_SETTING, VENUE, LighterTradingSettings, read_lighter_folder
from simulator.protocol import SimVenueProtocol, VenueContext


def _build_app(context: VenueContext) -> web.Application:
    return build_lighter_app(
        context.scenario, context.clock, context.faults, push_interval_seconds=context.push_interval_seconds
    )


PROTOCOL = SimVenueProtocol(
    name=VENUE,
    build_app=_build_app,
    error_body=lighter_error_body,
    rest_path="",  # lighter.Configuration(host="http://127.0.0.1:P")
    ws_path="/stream",
    read_folder=read_lighter_folder,
    trading_settings=LighterTradingSettings,
    settings_fields={NETWORK_ID_SETTING: (int, 1)},
    write_recordings=write_lighter_recordings,
)
