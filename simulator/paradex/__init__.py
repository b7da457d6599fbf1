"""The simulated Paradex venue (`PROTOCOL`): REST under `/v1`, the JSON-RPC WebSocket at `/v1`, onboarding, subkeys
and JWTs, admin routes and the Paradex trading protocol on the venue-neutral engine. paradex-py talks to it as to the
venue (`simulator/README.md`, "Paradex", "Trading: Paradex").

| module            | role                                                                                   |
|-------------------|----------------------------------------------------------------------------------------|
| `api.py`          | the aiohttp app (`build_paradex_app`): market-data REST, `/v1` WebSocket, mounting     |
| `trading.py`      | `ParadexTrading`: engine set-up, orders, account bodies, private feeds, trading admin  |
| `auth.py`         | onboarding, `/auth` JWTs, subkeys and `/_sim/paradex/...`                              |
| `markets.py`      | `/markets` row -> `MarketSpec`, `PARADEX_RULES`                                        |
| `wire.py`         | Paradex's spellings of engine values (cancel reasons)                                  |
| `scenario.py`     | `DIR/paradex/` reader (`ParadexData`), `trading.paradex` settings                      |
| `recordings.py`   | `DIR/paradex/` from `../shared/venue-data/paradex/`                                    |
"""

from __future__ import annotations

from aiohttp import web

from simulator.paradex.api import build_paradex_app, paradex_error_body
from simulator.paradex.recordings import write_paradex_recordings
from simulator.paradex.scenario import VENUE, ParadexTradingSettings, read_paradex_folder
from simulator.protocol import SimVenueProtocol, VenueContext


def _build_app(context: VenueContext) -> web.Application:
    return build_paradex_app(
        context.scenario, context.clock, context.faults, push_interval_seconds=context.push_interval_seconds
    )


PROTOCOL = SimVenueProtocol(
    name=VENUE,
    build_app=_build_app,
    error_body=paradex_error_body,
    rest_path="/v1",  # ParadexApiClient(api_base_url="http://127.0.0.1:Q/v1")
    ws_path="/v1",
    read_folder=read_paradex_folder,
    trading_settings=ParadexTradingSettings,
    write_recordings=write_paradex_recordings,
)
