"""The simulated Backpack venue (`PROTOCOL`): public and signed REST (ED25519 signatures VERIFIED), the `/ws`
WebSocket, admin routes and the Backpack trading protocol on the venue-neutral engine, served from the scenario's
`backpack/` folder. perparb's Backpack client (bpx-py's signed requests) talks to it as to the venue
(`simulator/README.md`, "Backpack").

| module          | role                                                                                       |
|-----------------|--------------------------------------------------------------------------------------------|
| `app.py`        | the aiohttp application (`build_backpack_app`): routes, signed dispatch, `/ws`              |
| `trading.py`    | `BackpackTrading`: engine set-up, accounts by API key, orders, cancels, leverage           |
| `bodies.py`     | the venue's bodies: orders, positions, collateral, fills, funding; markPrices, fundingRates, depth |
| `feeds.py`      | WebSocket sessions, depth deltas (U/u), markPrice, account streams                          |
| `auth.py`       | ED25519 signature verification, instructions by route                                       |
| `admin.py`      | the admin API (`/_sim/accounts` registers keys, markets, faults)                            |
| `errors.py`     | `{"code", "message"}` bodies                                                                |
| `markets.py`    | markets row -> `MarketSpec`, `BACKPACK_RULES`, wire spellings                               |
| `scenario.py`   | `DIR/backpack/` reader (`BackpackData`), `trading.backpack` settings                        |
| `demo.py`       | the venue's part of the SYNTHETIC demo scenario                                             |
"""

from __future__ import annotations

from aiohttp import web

from simulator.backpack.app import build_backpack_app
from simulator.backpack.demo import write_demo
from simulator.backpack.errors import backpack_error_body
from simulator.backpack.scenario import VENUE, BackpackTradingSettings, read_backpack_folder
from simulator.protocol import SimVenueProtocol, VenueContext


def _build_app(context: VenueContext) -> web.Application:
    return build_backpack_app(
        context.scenario, context.clock, context.faults, push_interval_seconds=context.push_interval_seconds
    )


PROTOCOL = SimVenueProtocol(
    name=VENUE,
    build_app=_build_app,
    error_body=backpack_error_body,
    rest_path="",  # the API root: http://127.0.0.1:P (paths /api/v1/..., /wapi/v1/...)
    ws_path="/ws",
    read_folder=read_backpack_folder,
    trading_settings=BackpackTradingSettings,
    write_demo=write_demo,
    default_port=8805,
)
