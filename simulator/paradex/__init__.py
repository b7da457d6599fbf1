"""The simulated Paradex venue (`PROTOCOL`): REST under `/v1`, the JSON-RPC WebSocket at `/v1`, onboarding, subkeys
and JWTs, admin routes and the Paradex trading protocol on the venue-neutral engine. paradex-py talks to it as to the
venue (`simulator/README.md`, "Paradex", "Trading: Paradex").

| module             | role                                                                                   |
|--------------------|----------------------------------------------------------------------------------------|
| `app.py`           | the aiohttp application (`build_paradex_app`): REST, `/v1` WebSocket, trading, admin   |
| `market_data.py`   | `ParadexMarketData`: market-data bodies from the scenario's files, funding cursors     |
| `stream.py`        | `/v1` JSON-RPC WebSocket sessions (`StreamSession`)                                    |
| `trading.py`       | `ParadexTrading`: engine set-up from the scenario, background sync                     |
| `state.py`         | `ParadexState`: what the trading concerns share, accounts by address                  |
| `orders.py`        | order entry, cancels, `OrderResp` bodies (`OrdersMixin`)                               |
| `account.py`       | positions, margin, account, balance, fills, funding payments (`AccountMixin`)         |
| `books.py`         | the engine's books in market-data bodies, `order_book.*` channels (`BookFeeds`)       |
| `feeds.py`         | private WebSocket channels: engine events -> coalesced pushes (`FeedsMixin`)          |
| `routes.py`        | private REST routes behind the JWT                                                     |
| `admin.py`         | trading admin API (`AdminMixin`, `add_trading_admin_routes`)                           |
| `auth.py`          | onboarding, `/auth` JWTs (`auth_clock_for`), subkeys and `/_sim/paradex/...`           |
| `errors.py`        | `ParadexApiError`, fault bodies (`paradex_error_body`)                                 |
| `markets.py`       | `/markets` row -> `MarketSpec`, `PARADEX_RULES`                                        |
| `wire.py`          | Paradex's spellings of engine values (cancel reasons), decimal text, paging            |
| `scenario.py`      | `DIR/paradex/` reader (`ParadexData`), `trading.paradex` settings                      |
| `recordings.py`    | `DIR/paradex/` from `../shared/venue-data/paradex/`                                    |
"""

from __future__ import annotations

from aiohttp import web

from simulator.paradex.app import build_paradex_app
from simulator.paradex.demo import write_demo
from simulator.paradex.errors import paradex_error_body
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
    write_demo=write_demo,
    default_port=8802,
)
