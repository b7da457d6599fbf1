"""The admin API (`/_sim/...`) pieces every simulated venue shares: the request bodies (pydantic models), the
loopback-only guard, body parsing, and the engine-fault routes.

One definition of each body, used by every venue's admin routes (`simulator/<venue>/admin.py`) and, for faults, by
`scenario.json` (`simulator.scenario.VenueFaultSettings`):

| model             | body of                                   | rule                                                 |
|-------------------|-------------------------------------------|------------------------------------------------------|
| `EngineFaultSpec` | `POST /_sim/engine/faults`                | `reject_next` and/or `fill_fraction` (+ optional     |
|                   | (`scenario.json` `faults.<venue>.engine`, | `fill_fraction_count`), or `clear: true` alone       |
|                   | without `clear`)                          |                                                      |
| `FundingSpec`     | `POST /_sim/markets/{m}/funding`          | exactly one of `rate_hourly` (fraction per hour) or  |
|                   |                                           | `funding_rate` (per the market's funding period)     |
| `MarkSpec`        | `POST /_sim/markets/{m}/mark`             | exactly one of `price` (USD) or `random_walk`        |
| `DepositSpec`     | base of each venue's `POST /_sim/accounts` | `collateral` USDC >= 0 (the venue adds the account) |
| `WsFaultSpec`     | base of each venue's `POST /_sim/ws/faults` | `drop_connections` and/or the venue's own faults   |

Numbers may be JSON numbers or decimal text (`"0.5"`); booleans and non-finite values are refused. A bad body is
answered HTTP 400 `{"error": "<field>: <reason>; ..."}`; a non-loopback client HTTP 403.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, TypeVar

from aiohttp import web
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from simulator.engine import Engine, EngineFaults

log = logging.getLogger("perparb.simulator")

ADMIN_PREFIX = "/_sim/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SpecT = TypeVar("SpecT", bound=BaseModel)
HandlerT = TypeVar("HandlerT", bound=Handler)


def decimal_text(value: Any, name: str = "value") -> Decimal:
    """A decimal number given as JSON number or text, as a `Decimal` (text kept exactly: "0.400000" stays so).

    Raises:
        ValueError: a boolean, another type, text that is not a number, or a non-finite value (naming `name`).
    """
    if isinstance(value, Decimal):
        out = value
    elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{name} must be a decimal number (text or number)")
    else:
        try:
            out = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{name} must be a decimal number, got {value!r}") from None
    if not out.is_finite():
        raise ValueError(f"{name} must be finite")
    return out


DecimalNumber = Annotated[Decimal, BeforeValidator(decimal_text)]


class AdminModel(BaseModel):
    """Base of the admin bodies: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class EngineFaultSpec(AdminModel):
    """Body of `POST /_sim/engine/faults` (`simulator.engine.EngineFaults`).

    Attributes:
        reject_next: reject the next N submitted orders (replaces a pending count).
        fill_fraction: cap the immediate execution of the next `fill_fraction_count` orders (None = until
            cleared) at this fraction of their size, 0 <= f < 1.
        clear: remove every engine fault; alone.
    """

    reject_next: int | None = Field(default=None, ge=0)
    fill_fraction: DecimalNumber | None = None
    fill_fraction_count: int | None = Field(default=None, ge=1)
    clear: bool = False

    @field_validator("fill_fraction")
    @classmethod
    def _fraction(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not 0 <= value < 1:
            raise ValueError("fill_fraction must be in [0, 1)")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> EngineFaultSpec:
        has_fault = self.reject_next is not None or self.fill_fraction is not None
        if self.clear and (has_fault or self.fill_fraction_count is not None):
            raise ValueError("'clear' cannot be combined with a fault")
        if not self.clear and not has_fault:
            raise ValueError("give 'reject_next' and/or 'fill_fraction', or 'clear': true")
        if self.fill_fraction_count is not None and self.fill_fraction is None:
            raise ValueError("'fill_fraction_count' needs 'fill_fraction'")
        return self

    def apply(self, faults: EngineFaults) -> None:
        """Apply this body to an engine's fault hooks (clear, reject, then the fill cap)."""
        if self.clear:
            faults.clear()
        if self.reject_next is not None:
            faults.reject_next(self.reject_next)
        if self.fill_fraction is not None:
            faults.fill_fraction(self.fill_fraction, self.fill_fraction_count)


class FundingSpec(AdminModel):
    """Body of `POST /_sim/markets/{m}/funding`: exactly one of `rate_hourly` (signed fraction per hour, longs pay
    when > 0) or `funding_rate` (fraction per the market's `funding_period_hours`, as the venue quotes it)."""

    rate_hourly: DecimalNumber | None = None
    funding_rate: DecimalNumber | None = None

    @model_validator(mode="after")
    def _one(self) -> FundingSpec:
        if (self.rate_hourly is None) == (self.funding_rate is None):
            raise ValueError("give exactly one of rate_hourly or funding_rate")
        return self

    def hourly(self, period_hours: Decimal) -> Decimal:
        """The rate as a fraction per hour (`funding_rate / period_hours` when given per period)."""
        if self.rate_hourly is not None:
            return self.rate_hourly
        assert self.funding_rate is not None  # _one guarantees exactly one
        return self.funding_rate / period_hours


class RandomWalkSpec(AdminModel):
    """`random_walk` of `MarkSpec`: a seeded walk of the mid from the current mark (`RandomWalkMid`)."""

    vol_bps: DecimalNumber = Decimal(5)
    step_ms: int = Field(default=1000, ge=1)
    seed: int = 7

    @field_validator("vol_bps")
    @classmethod
    def _vol(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("vol_bps must be >= 0")
        return value


class MarkSpec(AdminModel):
    """Body of `POST /_sim/markets/{m}/mark`: exactly one of `price` (USD, > 0: the mark and the market maker's mid
    are pinned there) or `random_walk` (the mid follows a seeded random walk from the current mark)."""

    price: DecimalNumber | None = None
    random_walk: RandomWalkSpec | None = None

    @field_validator("price")
    @classmethod
    def _positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError("price must be > 0")
        return value

    @model_validator(mode="after")
    def _one(self) -> MarkSpec:
        if (self.price is None) == (self.random_walk is None):
            raise ValueError("give exactly one of 'price' or 'random_walk'")
        return self


class DepositSpec(AdminModel):
    """Base of `POST /_sim/accounts` bodies: `collateral` USDC (>= 0) deposited into the account, which is created
    when new. Each venue adds the fields naming its accounts."""

    collateral: DecimalNumber = Decimal(0)

    @field_validator("collateral")
    @classmethod
    def _not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("collateral must be >= 0")
        return value


class WsFaultSpec(AdminModel):
    """Base of `POST /_sim/ws/faults` bodies: `drop_connections` closes every WebSocket of the venue now. Each
    venue adds its own faults (boolean fields listed in `ACTIONS`); at least one action must be asked for."""

    ACTIONS: ClassVar[tuple[str, ...]] = ("drop_connections",)

    drop_connections: bool = False

    @model_validator(mode="after")
    def _something(self) -> WsFaultSpec:
        if not any(getattr(self, name) for name in self.ACTIONS):
            raise ValueError("give " + " and/or ".join(f"'{name}'" for name in self.ACTIONS))
        return self


def validation_reasons(exc: ValidationError) -> str:
    """`"<field.path>: <message>; ..."` of a pydantic error (`<body>` for the whole body)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '<body>'}: {e['msg']}" for e in exc.errors())


def is_loopback(request: web.Request) -> bool:
    """True when the client is on a loopback address (the admin API answers no one else)."""
    remote = request.remote
    if remote is None:
        return False
    try:
        return ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def local_only(handler: HandlerT) -> HandlerT:
    """Wrap an admin handler: non-loopback clients get HTTP 403 `{"error": "admin API is local-only"}`."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        if not is_loopback(request):
            return web.json_response({"error": "admin API is local-only"}, status=403)
        return await handler(request)

    return wrapped  # type: ignore[return-value]


def _bad_request(error: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": error}), content_type="application/json")


async def admin_spec(request: web.Request, model: type[SpecT]) -> SpecT:
    """The request's JSON body (an empty body counts as `{}`) validated by `model`.

    Raises:
        web.HTTPBadRequest: 400 `{"error": "body is not JSON: ..."}` or `{"error": <validation reasons>}`.
    """
    raw: Any = {}
    if request.can_read_body:
        try:
            raw = await request.json()
        except json.JSONDecodeError as exc:
            raise _bad_request(f"body is not JSON: {exc.msg}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _bad_request(validation_reasons(exc)) from None


def add_engine_fault_routes(app: web.Application, engine: Engine, *, venue: str, response_key: str) -> None:
    """Register `GET|POST /_sim/engine/faults` (loopback only): the engine's pending faults, answered as
    `{response_key: EngineFaults.snapshot()}` (each venue keeps its historical key), and `EngineFaultSpec` bodies
    applied to them."""

    async def get_faults(request: web.Request) -> web.StreamResponse:
        return web.json_response({response_key: engine.faults.snapshot()})

    async def post_faults(request: web.Request) -> web.StreamResponse:
        spec = await admin_spec(request, EngineFaultSpec)
        spec.apply(engine.faults)
        log.info("%s engine faults: %s", venue, engine.faults.snapshot())
        return web.json_response({response_key: engine.faults.snapshot()})

    app.router.add_get(ADMIN_PREFIX + "engine/faults", local_only(get_faults))
    app.router.add_post(ADMIN_PREFIX + "engine/faults", local_only(post_faults))
