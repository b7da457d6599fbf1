"""The grid strategy: a post-only ladder on one venue and market, each filled level countered one take-profit away.

Model (config `strategies.config.GridConfig`; issue #6 item 4):

* **Ladder.** Levels are `config.level_prices()`. The reference price (anchor) is the mid `(best bid + best ask) / 2`
  at the grid's first start; it is persisted in `strategy_state` so a restart keeps the same ladder. A level below
  the anchor is a BUY level (price rounded DOWN to the tick), above it a SELL level (rounded UP): the rounding rule
  of `exchange_clients.base.trading.round_price`. When the anchor lies inside [lower_price, upper_price] the level
  nearest to it is left empty (the standard grid's gap); its index is skipped. Every order is post-only with
  `quantity_per_level` rounded DOWN to the size step (`round_quantity`; below the market minimum size or notional
  the run is refused with `ConfigError`).
* **Slots.** Each non-empty level is a slot with exactly one live order at a time (`orders.grid_level` = the level
  index in `config.level_prices()`). Phase `home`: the level's own order rests (BUY at p below the anchor, SELL at p
  above). When it fills, the slot turns to phase `counter`: the opposite order at `p + take_profit` (for a BUY
  level, rounded up) or `p - take_profit` (for a SELL level, rounded down) for the filled quantity; when that
  fills, the round trip's price PnL `(sell - buy) x quantity` is added to the realised PnL and the slot goes back
  to `home`. With the default take profit (one grid step) this is exactly the classic grid: the counter order
  takes the neighbouring level's price and the gap moves.
* **Partial fills.** Countered once the order is FINAL (filled, or cancelled with a partial fill): the counter
  order is for the filled quantity; a partially filled order that still rests is left alone until it finishes.
  A partially filled counter order that ends (e.g. cancelled) leaves the rest of the inventory in phase `counter`,
  to be countered again for the remainder.
* **Detection.** Each `step()` reads the venue's active orders once (`get_active_orders(symbol)`); an order of
  ours that left the list or whose filled quantity changed is read by client order id (`get_order_info`) and its
  fills by `get_fills(since, symbol)` filtered by client order id. The event stream is not used (polling keeps one
  code path for live, paper and restarts).
* **Limits.** `max_position` (base units): a BUY is placed only if `position + resting BUY remainder + quantity <=
  max_position`, a SELL only if `resting SELL remainder + quantity - position <= max_position` (position signed,
  from the venue's `get_position_snapshot`; resting = this grid's live orders). A post-only order that would cross
  the current best bid/ask is not sent this cycle (the venue would cancel it). While the mid is outside
  [pause_price_low, pause_price_high] no new order is placed (resting ones stay). The mid at or beyond
  `stop_price_low` / `stop_price_high` cancels every order of the grid, closes the position with a reduce-only
  market order bounded by `max_slippage_bps` (`place_market_order`), records a `stop_price` event, marks the grid
  stopped (the next run starts a new ladder) and `step()` returns False.
* **Persistence** (`strategies.state`): every order row is inserted `pending` in its own transaction BEFORE the
  venue call, then updated from the venue's answer (`apply_order_info`, with its fills); a slot's phase change is
  saved (`save_state`) in the SAME transaction as the final order update that causes it, so a crash never loses a
  fill's counter. Orders: purpose `grid` for ladder orders, `close` for the reduce-only market orders that
  flatten the position.
* **Restart** (`start()`): every non-final order of the account and mode on this venue is read by client order
  id; a row the venue does not know is marked `rejected` ("never reached the venue" for a pending row or one
  without a venue id) and its level is free again; venue orders of this market whose client id belongs to one of
  the account's runs but which no order row knows are cancelled (strays); a level with two live orders keeps the
  older one and the other is cancelled. The first `step()` then places the missing levels: never a second order
  for a level that has a live one.
* **Funding** (`_collect_funding`): the venue's funding payments on the market since the config's first run are
  stored in `funding_payments` (no position id) about every minute and at stop, so the database holds what the
  inventory paid or received.
* **Stop** (`stop(close=)`): `on_stop: keep` leaves the ladder resting (a later run adopts it), `cancel` cancels
  the ladder and keeps the position, `close` (the runner's `close=True`) cancels and flattens, and the next run
  starts a new ladder.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange_clients.base.client import StaleBookError
from exchange_clients.base.trading import (
    ContractAttributes,
    Fill,
    OrderInfo,
    OrderStatus,
    RoundingError,
    Side,
    round_price,
    round_quantity,
)
from perparb_core.errors import (
    ConfigError,
    VenueError,
    VenueRateLimitedError,
    VenueRejectedError,
    VenueUnavailableError,
)
from strategies import state
from strategies.base import RunContext, Strategy
from strategies.book import LegExposure, RunBook
from strategies.config import GridConfig
from strategies.state import ORDERS, RUNS, OrderRow

log = logging.getLogger(__name__)

ZERO = Decimal(0)
STATE_VERSION = 1
FUNDING_POLL_SECONDS = 60.0
"""How often a running grid reads the venue's funding payments (seconds; and once at stop)."""
PENDING_UNSEEN_SECONDS = 30.0
"""A `pending` order (its placement's outcome unknown) that the venue still does not know this long after it was
sent never reached it: polling marks it rejected and frees its level."""
FILL_LOOKBACK = timedelta(minutes=10)
CANCEL_WAIT_ROUNDS = 15
CANCEL_WAIT_SECONDS = 0.2
CLOSE_ATTEMPTS = 3


def grid_step(config: GridConfig) -> Decimal:
    """Distance between neighbouring levels (quote currency): `(upper - lower) / (levels - 1)` or `step_price`."""
    if config.levels is not None:
        return (config.upper_price - config.lower_price) / (config.levels - 1)
    assert config.step_price is not None
    return config.step_price


@dataclass
class Slot:
    """One level of the ladder and what it holds.

    `level`: index in `config.level_prices()` (stored as `orders.grid_level`); `price`: the home price on the tick;
    `side`: the home side (BUY below the anchor, SELL above); `phase`: "home" (the home order is wanted) or
    "counter" (`counter_qty` base units bought/sold at `entry_price` await the opposite order).
    """

    level: int
    price: Decimal
    side: Side
    phase: str = "home"
    counter_qty: Decimal = ZERO
    entry_price: Decimal | None = None

    def counter_price(self, take_profit: Decimal, tick: Decimal) -> Decimal:
        """The counter order's price: home + take profit rounded UP for a BUY level (a SELL), home - take profit
        rounded DOWN for a SELL level (a BUY). Raises RoundingError when that is not a positive price."""
        if self.side is Side.BUY:
            return round_price(self.price + take_profit, tick, Side.SELL)
        return round_price(self.price - take_profit, tick, Side.BUY)

    def target(self, quantity: Decimal, take_profit: Decimal, tick: Decimal) -> tuple[Side, Decimal, Decimal]:
        """(side, price, quantity) of the order this slot wants resting now. Raises RoundingError (see above)."""
        if self.phase == "home":
            return self.side, self.price, quantity
        return self.side.opposite, self.counter_price(take_profit, tick), self.counter_qty

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "price": str(self.price),
            "side": self.side.value,
            "phase": self.phase,
            "counter_qty": str(self.counter_qty),
            "entry_price": None if self.entry_price is None else str(self.entry_price),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Slot:
        return cls(
            level=int(data["level"]),
            price=Decimal(data["price"]),
            side=Side(data["side"]),
            phase=data.get("phase", "home"),
            counter_qty=Decimal(data.get("counter_qty", "0")),
            entry_price=None if data.get("entry_price") is None else Decimal(data["entry_price"]),
        )


def build_slots(config: GridConfig, anchor: Decimal, tick: Decimal) -> list[Slot]:
    """The ladder's slots for reference price `anchor` on tick `tick`, ascending by level.

    Levels strictly below the anchor are BUY levels (price rounded down to the tick), above it SELL levels (rounded
    up). When `lower_price <= anchor <= upper_price`, the level nearest to the anchor (the lower one on a tie) is
    left empty. Raises RoundingError for a non-positive tick.
    """
    raw = config.level_prices()
    empty: int | None = None
    if config.lower_price <= anchor <= config.upper_price:
        empty = min(range(len(raw)), key=lambda i: (abs(raw[i] - anchor), i))
    slots = []
    for i, price in enumerate(raw):
        if i == empty or price == anchor:
            continue
        side = Side.BUY if price < anchor else Side.SELL
        slots.append(Slot(i, round_price(price, tick, side), side))
    return slots


def _avg_price(fills: list[Fill]) -> Decimal | None:
    qty = sum((f.quantity for f in fills), ZERO)
    if qty <= 0:
        return None
    return sum((f.price * f.quantity for f in fills), ZERO) / qty


def _dec(value: Any, default: str = "0") -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(default)


def _pending_row(order_id: int, values: dict[str, Any]) -> OrderRow:
    """The `OrderRow` of a just-inserted pending order (`values` as given to `state.insert_orders`)."""
    fields = {k: v for k, v in values.items() if k != "account_name"}
    return OrderRow(
        id=order_id,
        position_id=None,
        venue_order_id=None,
        status="pending",
        filled_quantity=ZERO,
        avg_fill_price=None,
        fee=ZERO,
        **fields,
    )


class GridStrategy(Strategy):
    """The grid of `ctx.config` (a `GridConfig`) on `ctx.clients[config.venue]`. See the module docstring.

    Raises (from `start`):
        ConfigError: quantity below the market minimum size / notional, leverage above the venue's maximum, more
            than 500 levels, or a persisted ladder that does not match the config (stop that grid with
            `on_stop: close` first, or give the config a new name).
        VenueError subclasses: the venue refused or could not answer the reconciliation reads.
    """

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(ctx)
        if not isinstance(ctx.config, GridConfig):
            raise ConfigError(f"GridStrategy needs a GridConfig, got {type(ctx.config).__name__}")
        self.config: GridConfig = ctx.config
        self.venue = self.config.venue
        self.symbol = self.config.symbol.upper()
        self.client = ctx.clients[self.venue]
        self.take_profit = self.config.take_profit_price or grid_step(self.config)
        self.attrs: ContractAttributes | None = None
        self.quantity = ZERO
        self.slots: dict[int, Slot] = {}
        self.live: dict[int, OrderRow] = {}  # level -> its live order row
        self.created: dict[str, datetime] = {}  # client order id -> row creation time (fill look-ups)
        self.anchor = ZERO
        self.paused = False
        self.stopped = False
        self.realized_pnl = ZERO
        self.fees = ZERO
        self._gate_noted: str | None = None  # the operator pause last reported
        self.round_trips = 0
        self._blocked: set[int] = set()
        self._missing_since: dict[
            str, datetime
        ] = {}  # client order id -> first poll that missed an adopted row
        self._funding_polled = (
            -FUNDING_POLL_SECONDS
        )  # loop time of the last funding read (`_collect_funding`)

    # ------------------------------------------------------------------------------------------ persistence

    @property
    def tick(self) -> Decimal:
        assert self.attrs is not None, "start() first"
        return self.attrs.tick_size

    def state_json(self) -> dict[str, Any]:
        """The persisted grid state (`strategy_state.state`): anchor, ladder, flags and results, as JSON."""
        return {
            "version": STATE_VERSION,
            "venue": self.venue,
            "symbol": self.symbol,
            "anchor": str(self.anchor),
            "quantity": str(self.quantity),
            "take_profit": str(self.take_profit),
            "slots": [s.to_json() for s in sorted(self.slots.values(), key=lambda s: s.level)],
            "paused": self.paused,
            "stopped": self.stopped,
            "realized_pnl": str(self.realized_pnl),
            "fees": str(self.fees),
            "round_trips": self.round_trips,
        }

    async def _save(self, conn: AsyncConnection) -> None:
        await state.save_state(conn, self.ctx.account, self.ctx.mode, self.config.name, self.state_json())

    async def _save_now(self) -> None:
        async with self.ctx.engine.begin() as conn:
            await self._save(conn)

    # ---------------------------------------------------------------------------------------------- start

    async def start(self) -> None:
        """Check the market, set the leverage, load or create the ladder, reconcile orders (see module docstring)."""
        cfg = self.config
        self.attrs = await self.client.get_contract_attributes(self.symbol)
        attrs = self.attrs
        levels = cfg.level_prices()
        if len(levels) > 500:
            raise ConfigError(
                f"step_price: {cfg.step_price} gives {len(levels)} levels; at most 500 are allowed"
            )
        try:
            self.quantity = round_quantity(cfg.quantity_per_level, attrs.size_step, min_size=attrs.min_size)
        except RoundingError:
            raise ConfigError(
                f"quantity_per_level: {cfg.quantity_per_level} {self.symbol} is below the {self.venue} minimum "
                f"(size step {attrs.size_step}, minimum size {attrs.min_size})"
            ) from None
        if attrs.min_notional is not None and self.quantity * levels[0] < attrs.min_notional:
            raise ConfigError(
                f"quantity_per_level: {self.quantity} {self.symbol} at {levels[0]} is "
                f"{self.quantity * levels[0]} USD, below the {self.venue} minimum order value {attrs.min_notional}"
            )
        await self._apply_leverage()
        async with self.ctx.engine.connect() as conn:
            saved = await state.load_state(conn, self.ctx.account, self.ctx.mode, cfg.name)
        if saved and not saved.get("stopped"):
            self._restore(saved)
        else:
            bid, ask = await self._bbo(wait_seconds=10.0)
            self._new_ladder((bid + ask) / 2)
            await self._save_now()
            await self.ctx.event(
                "grid",
                f"new ladder on {self.venue} {self.symbol} around {self.anchor}: "
                + ", ".join(f"{s.side.value} {s.price}" for s in self.slots.values()),
                detail={"anchor": str(self.anchor), "quantity": str(self.quantity)},
            )
        await self._reconcile()

    async def _apply_leverage(self) -> None:
        current, maximum = await self.client.get_leverage_info(self.symbol)
        if maximum is not None and self.config.leverage > maximum:
            raise ConfigError(
                f"leverage: {self.config.leverage} is above the {self.venue} maximum {maximum} for {self.symbol}"
            )
        if current is None or current != self.config.leverage:
            await self.client.set_leverage(self.symbol, self.config.leverage)

    def _new_ladder(self, anchor: Decimal) -> None:
        self.anchor = anchor
        self.slots = {s.level: s for s in build_slots(self.config, anchor, self.tick)}
        self.paused = self.stopped = False
        self.realized_pnl = self.fees = ZERO
        self.round_trips = 0

    def _restore(self, saved: dict[str, Any]) -> None:
        anchor = Decimal(saved["anchor"])
        slots = [Slot.from_json(s) for s in saved.get("slots", [])]
        expected = [(s.level, s.price, s.side) for s in build_slots(self.config, anchor, self.tick)]
        found = [(s.level, s.price, s.side) for s in slots]
        if (
            saved.get("venue") != self.venue
            or saved.get("symbol") != self.symbol
            or Decimal(saved.get("quantity", "0")) != self.quantity
            or Decimal(saved.get("take_profit", "0")) != self.take_profit
            or found != expected
        ):
            raise ConfigError(
                f"grid {self.config.name!r} of account {self.ctx.account!r} ({self.ctx.mode}) was started with "
                f"another ladder ({saved.get('venue')} {saved.get('symbol')}, quantity {saved.get('quantity')}, "
                f"take profit {saved.get('take_profit')}, {len(slots)} levels around {anchor}); this config gives "
                f"{self.venue} {self.symbol}, quantity {self.quantity}, take profit {self.take_profit}, "
                f"{len(expected)} levels. Stop it with on_stop: close first, or give this config a new name"
            )
        self.anchor = anchor
        self.slots = {s.level: s for s in slots}
        self.paused = bool(saved.get("paused", False))
        self.realized_pnl = _dec(saved.get("realized_pnl"))
        self.fees = _dec(saved.get("fees"))
        self.round_trips = int(saved.get("round_trips", 0))

    async def _config_run_ids(self, conn: AsyncConnection) -> set[int]:
        rows = await conn.execute(
            select(RUNS.c.id).where(
                and_(
                    RUNS.c.account_name == self.ctx.account,
                    RUNS.c.mode == self.ctx.mode,
                    RUNS.c.config_name == self.config.name,
                    RUNS.c.strategy == "grid",
                )
            )
        )
        return set(rows.scalars())

    async def _reconcile(self) -> None:
        """Match the database's non-final orders on this venue with the venue, cancel strays and duplicates."""
        engine = self.ctx.engine
        async with engine.connect() as conn:
            rows = [
                r
                for r in await state.open_orders(conn, self.ctx.account, self.ctx.mode)
                if r.venue == self.venue
            ]
            mine = await self._config_run_ids(conn)
            created: dict[str, datetime] = {
                cid: at
                for cid, at in (
                    await conn.execute(
                        select(ORDERS.c.client_order_id, ORDERS.c.created_at).where(
                            ORDERS.c.id.in_([r.id for r in rows])
                        )
                    )
                ).all()
            }
        self.created.update(created)
        checked = 0
        for row in rows:
            info = await self.client.get_order_info(row.symbol, client_order_id=row.client_order_id)
            checked += 1
            ours = (
                row.purpose == "grid"
                and row.symbol == self.symbol
                and row.run_id in mine
                and row.grid_level in self.slots
            )
            if info is None:
                never = row.status == "pending" or not row.venue_order_id
                why = (
                    "never reached the venue"
                    if never
                    else f"not found on the venue at restart (was {row.status})"
                )
                async with engine.begin() as conn:
                    await state.apply_order_info(conn, row.id, None, error=why)
                await self.ctx.event(
                    "reconcile",
                    f"order {row.client_order_id} ({row.side} {row.quantity} at {row.price}, level "
                    f"{row.grid_level}) {why}: marked rejected",
                    level="warn",
                    detail={"client_order_id": row.client_order_id, "grid_level": row.grid_level},
                )
                continue
            fills = await self._fills_of(row, info)
            if not ours:
                async with engine.begin() as conn:
                    await state.apply_order_info(conn, row.id, info, fills=fills)
                if (
                    row.purpose == "grid"
                    and row.symbol == self.symbol
                    and row.run_id in mine
                    and not info.status.is_final
                ):
                    await self.ctx.event(
                        "reconcile",
                        f"order {row.client_order_id} at level {row.grid_level} is not on the ladder: cancelling",
                        level="warn",
                    )
                    await self._cancel_quietly(row.client_order_id)
                continue
            assert row.grid_level is not None
            other = self.live.get(row.grid_level)
            if other is not None and not info.status.is_final:
                async with engine.begin() as conn:
                    await state.apply_order_info(conn, row.id, info, fills=fills)
                await self.ctx.event(
                    "reconcile",
                    f"level {row.grid_level} has two live orders ({other.client_order_id}, {row.client_order_id}): "
                    f"cancelling {row.client_order_id}",
                    level="warn",
                )
                await self._cancel_quietly(row.client_order_id)
                continue
            self.live[row.grid_level] = row
            await self._apply(row, info, fills)
        strays = await self._cancel_strays()
        await self.ctx.event(
            "reconcile",
            f"{checked} open order(s) checked on {self.venue}; {len(self.live)} ladder order(s) live; "
            f"{strays} stray order(s) cancelled",
            detail={"live": {str(k): v.client_order_id for k, v in sorted(self.live.items())}},
        )

    async def _cancel_strays(self) -> int:
        """Cancel this market's venue orders whose client id belongs to one of the account's runs but which no
        order row knows. Returns how many were cancelled."""
        active = await self.client.get_active_orders(self.symbol)
        async with self.ctx.engine.connect() as conn:
            runs = await state.run_ids_of(conn, self.ctx.account, self.ctx.mode)
            candidates = [
                o
                for o in active
                if o.client_order_id and state.run_of_client_order_id(o.client_order_id) in runs
            ]
            known: set[str] = set()
            if candidates:
                known = set(
                    (
                        await conn.execute(
                            select(ORDERS.c.client_order_id).where(
                                and_(
                                    ORDERS.c.venue == self.venue,
                                    ORDERS.c.client_order_id.in_([o.client_order_id for o in candidates]),
                                )
                            )
                        )
                    ).scalars()
                )
        count = 0
        for order in candidates:
            if order.client_order_id in known:
                continue
            assert order.client_order_id is not None
            await self.ctx.event(
                "stray",
                f"venue order {order.client_order_id} ({order.side.value} {order.quantity} at {order.price}) of run "
                f"{state.run_of_client_order_id(order.client_order_id)} has no order row: cancelling",
                level="warn",
                detail={"client_order_id": order.client_order_id, "order_id": order.order_id},
            )
            await self._cancel_quietly(order.client_order_id)
            count += 1
        return count

    async def _cancel_quietly(self, client_order_id: str) -> None:
        try:
            await self.client.cancel_order(self.symbol, client_order_id=client_order_id)
        except VenueRejectedError as exc:
            log.info("cancel of %s refused (already closed?): %s", client_order_id, exc)

    # ----------------------------------------------------------------------------------------- order flow

    async def _bbo(self, wait_seconds: float = 0.0) -> tuple[Decimal, Decimal]:
        loop = asyncio.get_running_loop()
        end = loop.time() + wait_seconds
        while True:
            try:
                return await self.client.fetch_bbo_prices(self.symbol)
            except StaleBookError:
                if loop.time() >= end:
                    raise
                await asyncio.sleep(0.1)

    async def _fills_of(self, row: OrderRow, info: OrderInfo) -> list[Fill]:
        """The fills of `row`'s order (by client order id or venue order id), [] when nothing is filled."""
        if info.filled_quantity <= 0:
            return []
        created = self.created.get(row.client_order_id) or datetime.now(timezone.utc)
        since = min(created, self.ctx.now()) - FILL_LOOKBACK
        fills = await self.client.get_fills(since, row.symbol)
        return [
            f
            for f in fills
            if f.client_order_id == row.client_order_id or (info.order_id and f.order_id == info.order_id)
        ]

    async def _apply(self, row: OrderRow, info: OrderInfo, fills: list[Fill]) -> None:
        """Store the venue's view of `row` and, when the order is final, the slot's phase change, in ONE
        transaction; keep `self.live` in step."""
        level = row.grid_level
        slot = self.slots.get(level) if level is not None else None
        final = info.status.is_final
        note: tuple[str, str, dict[str, Any]] | None = None
        async with self.ctx.engine.begin() as conn:
            await state.apply_order_info(conn, row.id, info, fills=fills)
            if final and slot is not None:
                note = self._transition(slot, row, info, fills)
                await self._save(conn)
        if level is None:
            return
        current = self.live.get(level)
        if final:
            if current is not None and current.id == row.id:
                del self.live[level]
        elif current is None or current.id == row.id:
            status = "unknown" if info.status is OrderStatus.UNKNOWN else info.status.value
            self.live[level] = dataclasses.replace(
                row,
                status=status,
                filled_quantity=info.filled_quantity,
                venue_order_id=info.order_id or row.venue_order_id,
            )
        if note is not None:
            await self.ctx.event(note[0], note[1], detail=note[2])

    def _transition(
        self, slot: Slot, row: OrderRow, info: OrderInfo, fills: list[Fill]
    ) -> tuple[str, str, dict[str, Any]] | None:
        """Apply a final order to its slot (see the module docstring); returns the event to record, if any."""
        filled = info.filled_quantity
        if filled <= 0:
            return None
        price = _avg_price(fills) or info.price or row.price or slot.price
        self.fees += sum((f.fee for f in fills), ZERO)
        detail: dict[str, Any] = {
            "level": slot.level,
            "client_order_id": row.client_order_id,
            "side": row.side,
            "quantity": str(filled),
            "price": str(price),
        }
        if row.side == slot.side.value:  # the home order: now hold `filled` and want its counter
            held = slot.counter_qty if slot.phase == "counter" else ZERO
            entry = slot.entry_price if slot.entry_price is not None else price
            slot.entry_price = (entry * held + price * filled) / (held + filled)
            slot.counter_qty = held + filled
            slot.phase = "counter"
            try:
                counter = str(slot.counter_price(self.take_profit, self.tick))
            except RoundingError:
                counter = "none (not a positive price)"
            return (
                "fill",
                f"level {slot.level}: {row.side} {filled} at {price} filled; counter {slot.side.opposite.value} "
                f"{slot.counter_qty} at {counter}",
                detail,
            )
        entry = slot.entry_price if slot.entry_price is not None else slot.price
        pnl = (price - entry) * filled if slot.side is Side.BUY else (entry - price) * filled
        self.realized_pnl += pnl
        slot.counter_qty = max(ZERO, slot.counter_qty - filled)
        detail.update(entry_price=str(entry), pnl=str(pnl), realized_pnl=str(self.realized_pnl))
        if slot.counter_qty > 0:
            return (
                "counter_fill",
                f"level {slot.level}: counter {row.side} {filled} at {price} (entry {entry}): PnL {pnl}; "
                f"{slot.counter_qty} still to counter",
                detail,
            )
        slot.phase, slot.entry_price = "home", None
        self.round_trips += 1
        detail["round_trips"] = self.round_trips
        return (
            "round_trip",
            f"level {slot.level}: round trip {slot.side.value} {entry} -> {row.side} {price} x {filled}: PnL {pnl} "
            f"(realised {self.realized_pnl}, fees {self.fees}, {self.round_trips} round trips)",
            detail,
        )

    def _unseen_for(self, row: OrderRow) -> float:
        """Seconds since `row` was created (this run) or first found missing on the venue (a row adopted at
        start)."""
        now = datetime.now(timezone.utc)
        since = self.created.get(row.client_order_id) or self._missing_since.setdefault(
            row.client_order_id, now
        )
        return (now - since).total_seconds()

    async def _poll(self, *, missing_is_final: bool = False) -> None:
        """Refresh the live orders from the venue (see "Detection" in the module docstring). With
        `missing_is_final`, an order the venue does not know is marked rejected (used after cancelling)."""
        if not self.live:
            return
        active = {
            o.client_order_id: o
            for o in await self.client.get_active_orders(self.symbol)
            if o.client_order_id
        }
        for row in list(self.live.values()):
            info = active.get(row.client_order_id)
            if (
                info is not None
                and info.filled_quantity == row.filled_quantity
                and info.status.value == row.status
            ):
                continue
            if info is None:
                info = await self.client.get_order_info(self.symbol, client_order_id=row.client_order_id)
            if info is None:
                if missing_is_final:
                    async with self.ctx.engine.begin() as conn:
                        await state.apply_order_info(conn, row.id, None, error="not found on the venue")
                    if row.grid_level is not None and self.live.get(row.grid_level) is row:
                        del self.live[row.grid_level]
                elif row.status == "pending" and self._unseen_for(row) > PENDING_UNSEEN_SECONDS:
                    # its placement failed with an unknown outcome (a 5xx, a timeout) and the venue still does not
                    # know it: it never got there. Without this the row stayed pending and its level empty until
                    # the next start (issue #18: soak seed 1, `open_orders_match`)
                    async with self.ctx.engine.begin() as conn:
                        await state.apply_order_info(
                            conn,
                            row.id,
                            None,
                            error=f"never reached the venue (not found for {PENDING_UNSEEN_SECONDS:g} s)",
                        )
                    if row.grid_level is not None and self.live.get(row.grid_level) is row:
                        del self.live[row.grid_level]
                    await self.ctx.event(
                        "order_resolved",
                        f"level {row.grid_level}: order {row.client_order_id} never reached {self.venue}: rejected, "
                        "the level is free again",
                        level="warn",
                    )
                else:
                    log.info(
                        "order %s (%s) not visible on %s yet", row.client_order_id, row.status, self.venue
                    )
                continue
            await self._apply(row, info, await self._fills_of(row, info))

    async def _place(self, slot: Slot, side: Side, price: Decimal, quantity: Decimal) -> None:
        """Persist a pending post-only order for `slot`, send it, store the answer (module docstring)."""
        cid = self.ctx.order_ids.next()
        values = {
            "run_id": self.ctx.run.id,
            "account_name": self.ctx.account,
            "venue": self.venue,
            "symbol": self.symbol,
            "client_order_id": cid,
            "purpose": "grid",
            "side": side.value,
            "order_type": "limit",
            "time_in_force": "post_only",
            "price": price,
            "quantity": quantity,
            "reduce_only": False,
            "grid_level": slot.level,
        }
        async with self.ctx.engine.begin() as conn:
            (order_id,) = await state.insert_orders(conn, [values])
        row = _pending_row(order_id, values)
        self.created[cid] = datetime.now(timezone.utc)
        self.live[slot.level] = row
        try:
            info: OrderInfo = await self.client.place_limit_order(
                self.symbol, side, quantity, price, post_only=True, client_order_id=cid
            )
        except VenueRejectedError as exc:
            async with self.ctx.engine.begin() as conn:
                await state.apply_order_info(conn, order_id, None, error=str(exc))
            del self.live[slot.level]
            await self.ctx.event(
                "rejected",
                f"level {slot.level}: {side.value} {quantity} at {price} refused: {exc}",
                level="warn",
            )
            return
        except VenueError as exc:
            # outcome unknown: the row stays pending and live (its level is not re-placed); polling or the next
            # start() settles it by client order id
            await self.ctx.event(
                "order_unknown",
                f"level {slot.level}: {side.value} {quantity} at {price} ({cid}) outcome unknown: {exc}",
                level="warn",
            )
            return
        await self._apply(row, info, await self._fills_of(row, info))

    # ----------------------------------------------------------------------------------------------- step

    async def step(self) -> bool:
        """One cycle: refresh orders, stop / pause checks on the mid, place missing orders. False once stopped.
        Transient venue trouble (unavailable, rate limited, stale book) is recorded and retried next cycle."""
        if self.stopped:
            return False
        try:
            return await self._step()
        except (VenueUnavailableError, VenueRateLimitedError, StaleBookError) as exc:
            await self.ctx.event(
                "venue_error", f"{type(exc).__name__}: {exc}; retrying next cycle", level="warn"
            )
            return True

    async def _collect_funding(self, *, force: bool = False) -> None:
        """Store the venue's funding payments on the grid's market since this grid config's first run (idempotent
        per account, venue and time; `position_id` None): at most every `FUNDING_POLL_SECONDS`, or now with
        `force` (at stop). A venue error leaves it to the next call. Without it the database never knew the funding
        a grid's inventory paid or received (issue #18: `perparb soak --seed 1`, `funding_matches`)."""
        loop = asyncio.get_running_loop()
        if not force and loop.time() - self._funding_polled < FUNDING_POLL_SECONDS:
            return
        self._funding_polled = loop.time()
        async with self.ctx.engine.connect() as conn:
            since = (
                await conn.execute(
                    select(func.min(RUNS.c.started_at)).where(
                        and_(
                            RUNS.c.account_name == self.ctx.account,
                            RUNS.c.mode == self.ctx.mode,
                            RUNS.c.config_name == self.config.name,
                            RUNS.c.strategy == "grid",
                        )
                    )
                )
            ).scalar()
        if since is None:
            return
        try:
            payments = await self.client.get_funding_payments(since, self.symbol)
        except VenueError as exc:
            log.info("%s %s: funding payments not read: %s", self.venue, self.symbol, exc)
            return
        await state.store_funding(
            self.ctx.engine, None, self.ctx.account, self.ctx.mode, [p for p in payments if p.ts >= since]
        )

    async def _step(self) -> bool:
        await self._poll()
        await self._collect_funding()
        bid, ask = await self._bbo()
        mid = (bid + ask) / 2
        cfg = self.config
        hit = None
        if cfg.stop_price_low is not None and mid <= cfg.stop_price_low:
            hit = f"mid {mid} at or below stop_price_low {cfg.stop_price_low}"
        elif cfg.stop_price_high is not None and mid >= cfg.stop_price_high:
            hit = f"mid {mid} at or above stop_price_high {cfg.stop_price_high}"
        if hit is not None:
            await self.ctx.event(
                "stop_price", f"{hit}: cancelling the grid and closing the position", level="warn"
            )
            await self._cancel_all()
            closed = await self._flatten()
            self.stopped = True
            await self._save_now()
            await self.ctx.event(
                "stopped",
                f"grid stopped by price ({'position closed' if closed else 'position NOT closed'}); realised PnL "
                f"{self.realized_pnl}, fees {self.fees}",
                level="info" if closed else "error",
            )
            return False
        paused = (cfg.pause_price_low is not None and mid < cfg.pause_price_low) or (
            cfg.pause_price_high is not None and mid > cfg.pause_price_high
        )
        if paused != self.paused:
            self.paused = paused
            await self._save_now()
            await self.ctx.event(
                "pause" if paused else "resume",
                f"mid {mid} {'outside' if paused else 'back inside'} the pause range "
                f"[{cfg.pause_price_low}, {cfg.pause_price_high}]: "
                + ("no new orders" if paused else "placing orders again"),
            )
        if paused:
            return True
        await self._fill_ladder(bid, ask)
        return True

    async def _fill_ladder(self, bid: Decimal, ask: Decimal) -> None:
        """Place the order of every slot without a live one, nearest to the mid first, within the limits."""
        mid = (bid + ask) / 2
        wanted: list[tuple[Decimal, int, Slot, Side, Decimal, Decimal]] = []
        gate = await self.ctx.may_enter()
        if gate != self._gate_noted:
            self._gate_noted = gate
            await self.ctx.event(
                "pause" if gate else "resume",
                f"entries paused ({gate}): only take-profit orders are placed"
                if gate
                else "entries resumed: placing ladder orders again",
            )
        for slot in self.slots.values():
            if slot.level in self.live:
                continue
            if gate is not None and slot.phase == "home":
                continue  # paused: no order that adds inventory; take-profit (counter) orders still reduce it
            try:
                side, price, qty = slot.target(self.quantity, self.take_profit, self.tick)
            except RoundingError:
                continue
            if qty <= 0:
                continue
            wanted.append((abs(price - mid), slot.level, slot, side, price, qty))
        if not wanted:
            return
        wanted.sort(key=lambda w: (w[0], w[1]))
        snapshot = await self.client.get_position_snapshot(self.symbol)
        position = snapshot.quantity if snapshot is not None else ZERO
        resting = {
            s: sum((r.quantity - r.filled_quantity for r in self.live.values() if r.side == s.value), ZERO)
            for s in Side
        }
        cap = self.config.max_position
        for _, level, slot, side, price, qty in wanted:
            if (side is Side.BUY and price >= ask) or (side is Side.SELL and price <= bid):
                continue  # a post-only order would cross now: the venue would cancel it
            if side is Side.BUY:
                exposure = position + resting[Side.BUY] + qty
            else:
                exposure = resting[Side.SELL] + qty - position
            if exposure > cap:
                if level not in self._blocked:
                    self._blocked.add(level)
                    await self.ctx.event(
                        "max_position",
                        f"level {level}: {side.value} {qty} at {price} not placed: |position| could reach "
                        f"{exposure} > max_position {cap} (position {position}, resting {side.value} "
                        f"{resting[side]})",
                    )
                continue
            self._blocked.discard(level)
            await self._place(slot, side, price, qty)
            placed = self.live.get(level)
            if placed is not None:
                resting[side] += placed.quantity - placed.filled_quantity

    # ------------------------------------------------------------------------------------------ stop/close

    async def _cancel_all(self) -> None:
        """Cancel every live order of the grid and wait (about 3 s at most) until the venue shows them final."""
        for row in list(self.live.values()):
            await self._cancel_quietly(row.client_order_id)
        for _ in range(CANCEL_WAIT_ROUNDS):
            await self._poll(missing_is_final=True)
            if not self.live:
                break
            await asyncio.sleep(CANCEL_WAIT_SECONDS)
        if self.live:
            await self.ctx.event(
                "cancel",
                f"orders still live after cancelling: {[r.client_order_id for r in self.live.values()]}",
                level="error",
            )

    async def _flatten(self) -> bool:
        """Close the position with reduce-only market orders bounded by `max_slippage_bps` (at most 3 tries).
        Returns True when flat. The inventory of slots in phase `counter` is realised at the closing price."""
        for _ in range(CLOSE_ATTEMPTS):
            snapshot = await self.client.get_position_snapshot(self.symbol)
            position = snapshot.quantity if snapshot is not None else ZERO
            if position == 0:
                return True
            side = Side.SELL if position > 0 else Side.BUY
            qty = abs(position)
            cid = self.ctx.order_ids.next()
            values = {
                "run_id": self.ctx.run.id,
                "account_name": self.ctx.account,
                "venue": self.venue,
                "symbol": self.symbol,
                "client_order_id": cid,
                "purpose": "close",
                "side": side.value,
                "order_type": "market",
                "time_in_force": "ioc",
                "price": None,
                "quantity": qty,
                "reduce_only": True,
                "grid_level": None,
            }
            async with self.ctx.engine.begin() as conn:
                (order_id,) = await state.insert_orders(conn, [values])
            self.created[cid] = datetime.now(timezone.utc)
            try:
                info = await self.client.place_market_order(
                    self.symbol,
                    side,
                    qty,
                    max_slippage_bps=self.config.max_slippage_bps,
                    reduce_only=True,
                    client_order_id=cid,
                )
            except VenueRejectedError as exc:
                async with self.ctx.engine.begin() as conn:
                    await state.apply_order_info(conn, order_id, None, error=str(exc))
                await self.ctx.event("close", f"closing {side.value} {qty} refused: {exc}", level="warn")
                await asyncio.sleep(0.5)
                continue
            row = _pending_row(order_id, values)
            fills = await self._fills_of(row, info)
            price = _avg_price(fills) or info.price
            async with self.ctx.engine.begin() as conn:
                await state.apply_order_info(conn, order_id, info, fills=fills)
                self.fees += sum((f.fee for f in fills), ZERO)
                if info.filled_quantity == qty and price is not None:
                    for slot in self.slots.values():
                        if slot.phase == "counter" and slot.counter_qty > 0:
                            entry = slot.entry_price if slot.entry_price is not None else slot.price
                            sign = 1 if slot.side is Side.BUY else -1
                            self.realized_pnl += sign * (price - entry) * slot.counter_qty
                            slot.phase, slot.counter_qty, slot.entry_price = "home", ZERO, None
                await self._save(conn)
            await self.ctx.event(
                "close",
                f"reduce-only market {side.value} {qty}: {info.status.value}, filled {info.filled_quantity} at {price}",
                detail={"client_order_id": cid, "filled": str(info.filled_quantity), "price": str(price)},
            )
        snapshot = await self.client.get_position_snapshot(self.symbol)
        return snapshot is None or snapshot.quantity == 0

    async def stop(self, *, close: bool) -> None:
        """`on_stop` keep: leave the ladder resting; cancel: cancel it; `close` (on_stop close): cancel it and
        close the position, and mark the grid finished so the next run starts a new ladder. Idempotent after a
        stop price ended the run.

        Funding is collected LAST (also when closing fails): where a venue realises funding on a fill (Paradex's
        continuous funding index: a payment per fill that changes the position, `fill_id` set) the closing fill
        itself makes a payment, which a collection before the close missed (issue #18, the five-venue soak: a
        Paradex grid's last payment was never stored, `funding_matches`)."""
        try:
            if self.stopped:
                return
            cancel = close or self.config.on_stop == "cancel"
            if cancel:
                await self._cancel_all()
            flat = await self._flatten() if close else False
            if close and flat and not self.live:
                self.stopped = True
        finally:
            await self._collect_funding(force=True)
        await self._save_now()
        what = "ladder kept resting" if not cancel else "ladder cancelled"
        if close:
            what += ", position closed" if flat else ", position NOT closed"
        await self.ctx.event(
            "grid_stop",
            f"{what}; realised PnL {self.realized_pnl}, fees {self.fees}, {self.round_trips} round trips",
            level="info" if not close or flat else "error",
        )

    # ------------------------------------------------------------------------------------------------ risk

    async def book(self) -> RunBook:
        """The grid's inventory from the venue's position (one `get_position_snapshot` call): realised is the
        ladder's round-trip PnL minus its fees (persisted across runs in `strategy_state`); funding is not
        counted here (it is stored in `funding_payments`, `_collect_funding`)."""
        snapshot = await self.client.get_position_snapshot(self.symbol)
        legs: tuple[LegExposure, ...] = ()
        unrealised = ZERO
        if snapshot is not None and snapshot.quantity != 0:
            mark = snapshot.mark_price
            notional = snapshot.quantity * mark if mark is not None else ZERO
            unrealised = snapshot.unrealized_pnl or ZERO
            legs = (
                LegExposure(
                    venue=self.venue,
                    symbol=self.symbol,
                    quantity=snapshot.quantity,
                    mark_price=mark,
                    notional_usd=notional,
                    unrealised_usd=unrealised,
                    liquidation_distance=snapshot.liquidation_distance,
                    margin_ratio=(
                        snapshot.margin / abs(notional) if snapshot.margin is not None and notional else None
                    ),
                ),
            )
        return RunBook(
            at=self.ctx.now(),
            legs=legs,
            open_positions=1 if legs else 0,
            realised_usd=self.realized_pnl - self.fees,
            unrealised_usd=unrealised,
        )

    async def reduce(self, reason: str) -> str:
        """Close the grid's inventory (reduce-only market orders bounded by `max_slippage_bps`); resting ladder
        orders stay (the runner pauses entries with a reduce, so no home order adds inventory again)."""
        await self.ctx.event("reduce", f"closing the grid's position: {reason}", level="warn")
        flat = await self._flatten()
        return f"{self.symbol} on {self.venue}: {'position closed' if flat else 'position NOT closed'}"
