"""The simulated Aster venue (`PROTOCOL`): public REST, signed trading REST (V1 HMAC and V3 EIP-712, both verified),
market and user-data WebSockets, admin routes and Aster's trading rules on the venue-neutral engine (funding settled
every symbol's own interval). The project's Aster client talks to it as to the venue (`simulator/README.md`,
"Aster").

| module           | role                                                                                   |
|------------------|----------------------------------------------------------------------------------------|
| `app.py`         | the aiohttp application (`build_aster_app`): routes, signed-request dispatch, WebSockets |
| `auth.py`        | V1 API keys (HMAC-SHA256) and V3 API wallets (EIP-712, nonces): verification           |
| `trading.py`     | `AsterTrading`: engine set-up from the scenario, accounts, orders                      |
| `account.py`     | positionRisk, balance, userTrades, income, leverage, commissionRate bodies             |
| `market_data.py` | public bodies: exchangeInfo, fundingInfo, premiumIndex, ticker, fundingRate, depth     |
| `feeds.py`       | depth diffs with U/u/pu, markPrice, user-data events                                   |
| `admin.py`       | `/_sim/...`: accounts, agents and API keys, markets, faults                            |
| `errors.py`      | `{"code","msg"}` bodies and statuses                                                   |
| `markets.py`     | exchangeInfo row -> `MarketSpec`, `ASTER_RULES`                                        |
| `wire.py`        | order statuses and the order object                                                    |
| `scenario.py`    | `DIR/aster/` reader (`AsterData`), `trading.aster` settings                           |
| `demo.py`        | the venue's part of the synthetic demo scenario                                        |
"""

from __future__ import annotations

from aiohttp import web

from simulator.aster.app import build_aster_app
from simulator.aster.demo import write_demo
from simulator.aster.errors import aster_error_body
from simulator.aster.scenario import VENUE, AsterTradingSettings, read_aster_folder
from simulator.protocol import SimVenueProtocol, VenueContext


def _build_app(context: VenueContext) -> web.Application:
    return build_aster_app(
        context.scenario, context.clock, context.faults, push_interval_seconds=context.push_interval_seconds
    )


PROTOCOL = SimVenueProtocol(
    name=VENUE,
    build_app=_build_app,
    error_body=aster_error_body,
    rest_path="",  # AsterConfig(rest_url="http://127.0.0.1:P"): /fapi/... under it
    ws_path="",  # the WebSocket base: /stream, /ws/<name> under it
    read_folder=read_aster_folder,
    trading_settings=AsterTradingSettings,
    write_demo=write_demo,
    default_port=8804,
)
