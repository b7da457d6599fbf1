"""The simulated Lighter venue (`PROTOCOL`): REST routes, the `/stream` WebSocket, API keys, admin routes and the
Lighter trading protocol on the venue-neutral engine. lighter-sdk talks to it as to the venue (`simulator/README.md`,
"Lighter", "Trading: Lighter").

| module             | role                                                                                   |
|--------------------|----------------------------------------------------------------------------------------|
| `app.py`           | the aiohttp application (`build_lighter_app`): REST, `/stream`, trading, admin         |
| `market_data.py`   | `LighterMarketData`: market-data bodies from the scenario's files                      |
| `stream.py`        | `/stream` WebSocket sessions (`StreamSession`)                                          |
| `trading.py`       | `LighterTrading`: engine set-up from the scenario, time, engine events -> venue rows   |
| `state.py`         | `LighterState`: what the trading concerns share, account and order lookups            |
| `transactions.py`  | `sendTx` / `sendTxBatch`: tx decoding, checks and execution (`TransactionsMixin`)     |
| `accounts.py`      | account, position, order, trade and funding bodies (`AccountBodiesMixin`)             |
| `stream_hub.py`    | `order_book` and `account_all` feeds of the engine (`LighterStreamHub`)               |
| `routes.py`        | trading REST routes and auth-token checks                                              |
| `admin.py`         | trading admin API (`AdminMixin`, `add_trading_admin_routes`)                           |
| `recorded_book.py` | recorded order books kept in the engine (`RecordedBookMaker`)                          |
| `auth.py`          | API keys (`apikeys`, `nextNonce`) and `/_sim/lighter/apikeys`                          |
| `errors.py`        | Lighter's error codes, `LighterRequestError`, fault bodies (`lighter_error_body`)     |
| `markets.py`       | orderBookDetails row -> `MarketSpec`, `LIGHTER_RULES`, `LighterMarket`                 |
| `wire.py`          | Lighter's spellings of engine values (status words), number formats, `OrderMeta`      |
| `scenario.py`      | `DIR/lighter/` reader (`LighterData`), `trading.lighter` settings                      |
| `recordings.py`    | `DIR/lighter/` from `../shared/venue-data/lighter/`                                    |
"""

from __future__ import annotations

from aiohttp import web

from simulator.lighter.app import build_lighter_app
from simulator.lighter.demo import write_demo
from simulator.lighter.errors import lighter_error_body
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
    write_demo=write_demo,
    default_port=8801,
)
