"""The atomic two-leg executor: open and close a delta-neutral position so that no leg is ever left naked.

Entry (`create_and_prepare`, then `open_position`):
1. ONE transaction writes the position (`opening`) and both entry orders (`pending`, client order ids of the run)
   before any venue call; meanwhile both orders are PREPARED (book bound, rate-limit slot, signature: local work,
   no venue call), so the write and the signing overlap;
2. both orders are sent CONCURRENTLY (`asyncio.gather`): bounded IOC market orders (`execution.mode: ioc`, worst
   price = touch ± `sizing.max_slippage_bps`, see `BaseExchangeClient.place_market_order`), or post-only limits at
   each leg's own touch (`post_only`), polled until `post_only_timeout_seconds` and the rest cancelled;
3. the outcome of each order is read back by client order id (a venue error during placement leaves the outcome
   unknown, so the order is looked up rather than assumed) and written with its fills in one transaction;
4. `balance`: the legs' quantities are read from the venues (`get_position_snapshot`, the truth of exposure); if
   they differ by at least the tolerance, the lagging leg is HEDGED with bounded aggressive orders
   (`execution.hedge_max_slippage_bps`, `hedge_attempts` tries); if hedging fails, the excess of the leading leg
   is UNWOUND with reduce-only bounded orders; every hedge/unwind order is persisted before it is sent;
5. the position becomes `open` with the common quantity (or `failed` when nothing is held). If even the unwind
   failed, the position stays `opening`, an error event says "naked leg", and the next cycle's `settle` retries.

Exit (`close_position`) is the same machinery in reverse: both legs closed concurrently with reduce-only bounded
IOC orders, a leg that did not close is retried with wider bounds, never re-opened; `closed` when both venues
report flat, with the PnL decomposition (`finalize`).

Crash recovery (`settle`, called by the strategy's `start()` for every `opening`/`closing` position): orders not
known final are looked up by client order id (a `pending` row not found on the venue never reached it and is
marked rejected), still-resting ones are cancelled, then step 4 (opening) or the close loop (closing) completes
the operation.

Tolerance: legs count as balanced when |long - short| is below the larger of the two markets' minimum order
sizes (or size steps): a smaller difference cannot be traded on either venue.

Why not a library: this is the project's own craft (execution); no maintained library implements two-venue
atomic entry for these DEX SDKs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from exchange_clients.base.client import BaseExchangeClient, PreparedOrder
from exchange_clients.base.trading import (
    ContractAttributes,
    Fill,
    OrderInfo,
    RoundingError,
    Side,
    round_quantity,
)
from perparb_core import metrics
from perparb_core.errors import VenueError, VenueRejectedError
from strategies import state
from strategies.base import RunContext
from strategies.config import ExecutionRules

log = logging.getLogger(__name__)

FILL_LOOKBACK = timedelta(minutes=5)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Leg:
    """One leg's venue: client and market grid. `symbol` is the canonical base asset."""

    venue: str
    symbol: str
    client: BaseExchangeClient
    attrs: ContractAttributes

    @property
    def min_tradeable(self) -> Decimal:
        return max(self.attrs.min_size or ZERO, self.attrs.size_step)


@dataclass
class OrderPlan:
    leg: Leg
    side: Side
    quantity: Decimal
    purpose: str
    reduce_only: bool
    slippage_bps: Decimal
    post_only_price: Decimal | None = None
    row_id: int = 0
    client_order_id: str = ""


@dataclass
class Outcome:
    """Result of an executor operation. `long_qty` / `short_qty`: the venues' absolute leg sizes afterwards.
    `submit_starts`: perf_counter() when each entry order's send started (entries only; for the latency event)."""

    status: str
    long_qty: Decimal
    short_qty: Decimal
    detail: str = ""
    submit_gap_ms: float | None = None
    submit_starts: list[float] = field(default_factory=list)


@dataclass
class SubmitTimes:
    """perf_counter() when each concurrent placement call started (for the bench of the gap between legs). One
    per `send_orders` call, so concurrent entries of one cycle never mix their figures."""

    starts: list[float] = field(default_factory=list)


def _release_prepared(task: asyncio.Future[Any]) -> None:
    """Done-callback of a preparation abandoned by a cancelled `send_orders`: release what it prepared."""
    if task.cancelled() or task.exception() is not None:
        return
    prepared = task.result()
    if isinstance(prepared, PreparedOrder):
        prepared.release()


def tolerance(long: Leg, short: Leg) -> Decimal:
    return max(long.min_tradeable, short.min_tradeable)


class TwoLegExecutor:
    """See the module docstring. One executor per run; `rules` from the config's `execution` section."""

    def __init__(self, ctx: RunContext, rules: ExecutionRules, max_slippage_bps: Decimal) -> None:
        self.ctx = ctx
        self.rules = rules
        self.max_slippage_bps = max_slippage_bps

    # ------------------------------------------------------------------------------------------------ entry

    async def create_position(
        self,
        *,
        long: Leg,
        short: Leg,
        quantity: Decimal,
        notional_usd: Decimal,
        entry_spread_hourly: Decimal,
        round_trip_cost: Decimal,
        post_only_prices: tuple[Decimal, Decimal] | None = None,
    ) -> tuple[int, list[OrderPlan]]:
        """Write the position (`opening`) and both entry orders (`pending`) in ONE transaction.

        Raises:
            sqlalchemy.exc.IntegrityError: a live position on this asset already exists (unique index).
        """
        plans = self.entry_plans(long, short, quantity, post_only_prices)
        position_id = await self._write_position(
            plans, long, short, quantity, notional_usd, entry_spread_hourly, round_trip_cost
        )
        return position_id, plans

    def entry_plans(
        self, long: Leg, short: Leg, quantity: Decimal, post_only_prices: tuple[Decimal, Decimal] | None
    ) -> list[OrderPlan]:
        """The two entry orders (buy the long leg, sell the short leg), not yet persisted."""
        plans = [
            OrderPlan(long, Side.BUY, quantity, "entry", False, self.max_slippage_bps),
            OrderPlan(short, Side.SELL, quantity, "entry", False, self.max_slippage_bps),
        ]
        if post_only_prices is not None:
            plans[0].post_only_price, plans[1].post_only_price = post_only_prices
        return plans

    async def create_and_prepare(
        self,
        *,
        long: Leg,
        short: Leg,
        quantity: Decimal,
        notional_usd: Decimal,
        entry_spread_hourly: Decimal,
        round_trip_cost: Decimal,
        post_only_prices: tuple[Decimal, Decimal] | None = None,
    ) -> tuple[int, list[OrderPlan], list[Any]]:
        """`create_position` and the preparation of both entry orders (book bound, rate-limit slot, signature:
        no venue call) CONCURRENTLY, so the database write and the signing overlap. Nothing is sent here: the
        persisted-before-sent rule holds (`open_position(..., prepared=...)` sends). Returns (position id, plans,
        what each preparation gave: a send, None, or the exception it raised).

        Raises:
            sqlalchemy.exc.IntegrityError: a live position on this asset already exists (what was prepared is
                released first)."""
        plans = self.entry_plans(long, short, quantity, post_only_prices)
        for (
            plan
        ) in plans:  # the client order ids are known before the rows are written: the signatures need them
            plan.client_order_id = self.ctx.order_ids.next()
        tasks = [asyncio.ensure_future(self._prepare(p)) for p in plans]
        try:
            position_id = await self._write_position(
                plans, long, short, quantity, notional_usd, entry_spread_hourly, round_trip_cost
            )
        except BaseException:
            for task in tasks:
                task.add_done_callback(_release_prepared)
            raise
        prepared = await asyncio.gather(*tasks, return_exceptions=True)
        return position_id, plans, list(prepared)

    async def _write_position(
        self,
        plans: list[OrderPlan],
        long: Leg,
        short: Leg,
        quantity: Decimal,
        notional_usd: Decimal,
        entry_spread_hourly: Decimal,
        round_trip_cost: Decimal,
    ) -> int:
        async with self.ctx.engine.begin() as conn:
            position_id = (
                await conn.execute(
                    state.POSITIONS.insert()
                    .values(
                        run_id=self.ctx.run.id,
                        account_name=self.ctx.account,
                        mode=self.ctx.mode,
                        config_name=self.ctx.run.config_name,
                        symbol=long.symbol,
                        long_venue=long.venue,
                        short_venue=short.venue,
                        status="opening",
                        target_quantity=quantity,
                        notional_usd=notional_usd,
                        entry_spread_hourly=entry_spread_hourly,
                        round_trip_cost=round_trip_cost,
                        created_at=self.ctx.now(),
                    )
                    .returning(state.POSITIONS.c.id)
                )
            ).scalar_one()
            await self._insert(conn, position_id, plans)
        position_id_: int = position_id
        return position_id_

    async def open_position(
        self,
        position_id: int,
        plans: list[OrderPlan],
        long: Leg,
        short: Leg,
        *,
        prepared: list[Any] | None = None,
    ) -> Outcome:
        """Send both entry orders concurrently (`prepared`: what `create_and_prepare` prepared), then balance (see
        module docstring). Never raises for a venue error: the outcome and the events say what happened."""
        times = SubmitTimes()
        await self.send_orders(position_id, plans, times=times, prepared=prepared)
        gap = None
        if len(times.starts) == 2:
            gap = abs(times.starts[1] - times.starts[0]) * 1000
        outcome = await self.balance(position_id, long, short)
        outcome.submit_gap_ms = gap
        outcome.submit_starts = times.starts[:2]
        return outcome

    async def balance(self, position_id: int, long: Leg, short: Leg, *, _again: bool = True) -> Outcome:
        """Make both legs equal: hedge the lagging leg, else unwind the leading one; then mark the position
        `open` (or `failed` when flat). Leaves it `opening` (error event) when neither worked. Orders whose
        outcome was unknown (a venue error during placement) are looked up again first; one that turns out to
        have filled triggers one more balancing pass."""
        if await self.resolve_unknown(position_id, long, short) and _again:
            return await self.balance(position_id, long, short, _again=False)
        tol = tolerance(long, short)
        lq, sq = await self._leg_sizes(long, short)
        for attempt in range(self.rules.hedge_attempts):
            diff = lq - sq
            if abs(diff) < tol:
                break
            lagging, side = (short, Side.SELL) if diff > 0 else (long, Side.BUY)
            qty = self.tradeable(lagging, abs(diff))
            if qty is None:
                break
            metrics.HEDGES.labels(account=self.ctx.account).inc()
            await self.ctx.event(
                "hedge",
                f"position {position_id}: legs {lq} / {sq}; hedging {qty} on {lagging.venue} (attempt {attempt + 1})",
                level="warn",
                detail={"position_id": position_id, "venue": lagging.venue, "quantity": str(qty)},
            )
            await self.send_orders(
                position_id,
                [OrderPlan(lagging, side, qty, "hedge", False, self.rules.hedge_max_slippage_bps)],
            )
            lq, sq = await self._leg_sizes(long, short)
        for attempt in range(self.rules.hedge_attempts):
            diff = lq - sq
            if abs(diff) < tol:
                break
            leading, side = (long, Side.SELL) if diff > 0 else (short, Side.BUY)
            qty = self.tradeable(leading, abs(diff))
            if qty is None:
                break
            metrics.UNWINDS.labels(account=self.ctx.account).inc()
            await self.ctx.event(
                "unwind",
                f"position {position_id}: hedge failed, legs {lq} / {sq}; unwinding {qty} on {leading.venue} "
                f"(attempt {attempt + 1})",
                level="warn",
                detail={"position_id": position_id, "venue": leading.venue, "quantity": str(qty)},
            )
            await self.send_orders(
                position_id,
                [OrderPlan(leading, side, qty, "unwind", True, self.rules.hedge_max_slippage_bps)],
            )
            lq, sq = await self._leg_sizes(long, short)
        if await self.resolve_unknown(position_id, long, short) and _again:
            return await self.balance(position_id, long, short, _again=False)
        diff = lq - sq
        now = self.ctx.now()
        if abs(diff) >= tol:
            await self.ctx.event(
                "naked_leg",
                f"position {position_id}: NAKED LEG long {lq} on {long.venue} / short {sq} on {short.venue}; "
                "hedge and unwind failed, retrying next cycle",
                level="error",
                detail={"position_id": position_id, "long_qty": str(lq), "short_qty": str(sq)},
            )
            return Outcome("opening", lq, sq, "naked leg")
        quantity = min(lq, sq)
        async with self.ctx.engine.begin() as conn:
            if quantity > 0:
                prices = await self._entry_prices(conn, position_id, long.venue, short.venue)
                await state.update_position(
                    conn,
                    position_id,
                    status="open",
                    quantity=quantity,
                    opened_at=now,
                    entry_long_price=prices[0],
                    entry_short_price=prices[1],
                )
            else:
                await state.update_position(
                    conn,
                    position_id,
                    status="failed",
                    quantity=ZERO,
                    closed_at=now,
                    exit_reason="entry_failed",
                )
        if quantity > 0:
            await self.ctx.event(
                "open",
                f"position {position_id} open: {quantity} {long.symbol} long {long.venue} / short {short.venue}",
                detail={"position_id": position_id, "quantity": str(quantity), "symbol": long.symbol},
            )
            return Outcome("open", lq, sq)
        await self.ctx.event(
            "entry_failed", f"position {position_id}: no leg filled; nothing held", level="warn"
        )
        await self.finalize(position_id, long, short, status="failed")
        return Outcome("failed", lq, sq, "nothing filled")

    # ------------------------------------------------------------------------------------------------- exit

    async def close_position(
        self, position_id: int, long: Leg, short: Leg, reason: str, detail: str = ""
    ) -> Outcome:
        """Close both legs concurrently (reduce-only, bounded), retry a leg that did not close with wider bounds,
        never re-open; `closed` with results when both venues report flat."""
        async with self.ctx.engine.begin() as conn:
            await state.update_position(
                conn, position_id, status="closing", exit_reason=reason, exit_detail=detail[:2000]
            )
        await self.ctx.event("exit", f"position {position_id} closing: {reason} {detail}".strip())
        return await self._close_loop(position_id, long, short, first_bps=self.max_slippage_bps)

    async def _close_loop(self, position_id: int, long: Leg, short: Leg, *, first_bps: Decimal) -> Outcome:
        tol_long, tol_short = long.min_tradeable, short.min_tradeable
        bps = first_bps
        lq, sq = await self._leg_sizes(long, short)
        for _attempt in range(self.rules.hedge_attempts + 1):
            plans = []
            q = self.tradeable(long, lq) if lq >= tol_long else None
            if q is not None:
                plans.append(OrderPlan(long, Side.SELL, q, "exit", True, bps))
            q = self.tradeable(short, sq) if sq >= tol_short else None
            if q is not None:
                plans.append(OrderPlan(short, Side.BUY, q, "exit", True, bps))
            if not plans:
                break
            await self.send_orders(position_id, plans)
            lq, sq = await self._leg_sizes(long, short)
            bps = self.rules.hedge_max_slippage_bps
        await self.resolve_unknown(position_id, long, short)
        if lq >= tol_long or sq >= tol_short:
            await self.ctx.event(
                "close_incomplete",
                f"position {position_id}: close incomplete, long {lq} on {long.venue} / short {sq} on {short.venue}; "
                "retrying next cycle",
                level="error",
            )
            return Outcome("closing", lq, sq, "close incomplete")
        await self.finalize(position_id, long, short, status="closed")
        return Outcome("closed", lq, sq)

    async def finalize(self, position_id: int, long: Leg, short: Leg, *, status: str) -> dict[str, Decimal]:
        """Collect funding payments and compute the PnL decomposition of a flat position; writes it with
        `status` and `closed_at`. Returns the figures (USD): funding_long, funding_short, fees, basis_pnl,
        realized_pnl."""
        async with self.ctx.engine.connect() as conn:
            position = await state.get_position(conn, position_id)
        since = (
            position.created_at
            if position.opened_at is None
            else min(position.created_at, position.opened_at)
        )
        await self.collect_funding(position_id, position.symbol, since, (long, short))
        async with self.ctx.engine.begin() as conn:
            figures = await position_figures(conn, position_id, long.venue, short.venue)
            await state.update_position(
                conn,
                position_id,
                status=status,
                closed_at=self.ctx.now(),
                quantity=ZERO if status == "closed" else position.quantity,
                **figures,
            )
        if status == "closed":
            await self.ctx.event(
                "closed",
                f"position {position_id} closed: realised {figures['realized_pnl']:.4f} USD (funding "
                f"{figures['funding_long']:.4f} + {figures['funding_short']:.4f}, basis {figures['basis_pnl']:.4f}, "
                f"fees {figures['fees']:.4f})",
                detail={"position_id": position_id} | {k: str(v) for k, v in figures.items()},
            )
        return figures

    async def collect_funding(
        self, position_id: int, symbol: str, since: datetime, legs: Sequence[Leg]
    ) -> None:
        """Store the venues' funding payments on `symbol` since `since` against the position (idempotent)."""
        for leg in legs:
            try:
                payments = await leg.client.get_funding_payments(since, symbol)
            except VenueError as exc:
                await self.ctx.event(
                    "funding_unavailable", f"{leg.venue}: funding payments unavailable: {exc}", level="warn"
                )
                continue
            await state.store_funding(
                self.ctx.engine,
                position_id,
                self.ctx.account,
                self.ctx.mode,
                [p for p in payments if p.ts >= since],
            )

    # ----------------------------------------------------------------------------------------------- recovery

    async def settle(self, position_id: int, long: Leg, short: Leg, status: str) -> Outcome:
        """Complete an operation interrupted by a crash (see module docstring)."""
        async with self.ctx.engine.connect() as conn:
            rows = await state.orders_of_position(conn, position_id)
        for row in rows:
            if row.is_final:
                continue
            leg = long if row.venue == long.venue else short
            await self.resolve_order(row, leg)
        if status == "opening":
            return await self.balance(position_id, long, short)
        return await self._close_loop(position_id, long, short, first_bps=self.rules.hedge_max_slippage_bps)

    async def resolve_unknown(self, position_id: int, long: Leg, short: Leg) -> bool:
        """Resolve the position's orders not known final (look up by client order id, cancel if resting).
        Returns True when one of them turned out to have filled something."""
        async with self.ctx.engine.connect() as conn:
            rows = [r for r in await state.orders_of_position(conn, position_id) if not r.is_final]
        if not rows:
            return False
        for row in rows:
            await self.resolve_order(row, long if row.venue == long.venue else short)
        async with self.ctx.engine.connect() as conn:
            after = {r.id: r for r in await state.orders_of_position(conn, position_id)}
        return any(after[r.id].filled_quantity > r.filled_quantity for r in rows)

    async def resolve_order(self, row: state.OrderRow, leg: Leg) -> None:
        """Look an order up by client order id, cancel it if it still rests, and record its final state."""
        client = leg.client
        try:
            info = await client.get_order_info(row.symbol, client_order_id=row.client_order_id)
            if info is not None and not info.status.is_final:
                await client.cancel_order(row.symbol, client_order_id=row.client_order_id)
                info = await client.get_order_info(row.symbol, client_order_id=row.client_order_id)
        except VenueError as exc:
            await self.ctx.event(
                "reconcile", f"order {row.client_order_id} on {row.venue}: lookup failed: {exc}", level="warn"
            )
            return
        async with self.ctx.engine.begin() as conn:
            if info is None:
                await state.apply_order_info(
                    conn, row.id, None, error="never reached the venue (not found by client order id)"
                )
            else:
                fills = await self._fills_of(leg, row.client_order_id) if info.filled_quantity > 0 else []
                await state.apply_order_info(conn, row.id, info, fills=fills)

    # -------------------------------------------------------------------------------------------------- orders

    async def _insert(self, conn: Any, position_id: int | None, plans: Sequence[OrderPlan]) -> None:
        for plan in plans:
            if not plan.client_order_id:
                plan.client_order_id = self.ctx.order_ids.next()
        ids = await state.insert_orders(
            conn,
            [
                {
                    "run_id": self.ctx.run.id,
                    "position_id": position_id,
                    "account_name": self.ctx.account,
                    "venue": p.leg.venue,
                    "symbol": p.leg.symbol,
                    "client_order_id": p.client_order_id,
                    "purpose": p.purpose,
                    "side": p.side.value,
                    "order_type": "limit" if p.post_only_price is not None else "market",
                    "time_in_force": "post_only" if p.post_only_price is not None else "ioc",
                    "price": p.post_only_price,
                    "quantity": p.quantity,
                    "reduce_only": p.reduce_only,
                }
                for p in plans
            ],
        )
        for plan, row_id in zip(plans, ids, strict=True):
            plan.row_id = row_id

    async def send_orders(
        self,
        position_id: int | None,
        plans: list[OrderPlan],
        *,
        times: SubmitTimes | None = None,
        prepared: list[Any] | None = None,
    ) -> None:
        """Send `plans` concurrently, every one persisted first: plans without a row are written `pending` (one
        transaction, against `position_id`, None for an order of no position), then all are prepared, then all
        sent; each outcome is written as soon as its venue answers. `times` collects when each send started.
        A prepared order whose send is never started (its sibling's preparation was cancelled) is released
        (`prepared.release()` when the client offers it: e.g. a signed Lighter transaction gives its nonce
        back). Never raises for a venue error."""
        new = [p for p in plans if not p.row_id]
        if new:
            async with self.ctx.engine.begin() as conn:
                await self._insert(conn, position_id, new)
        # two phases: the slow local work of every order (book bound, signing) first, then all sends together,
        # so concurrent legs reach their venues at nearly the same moment
        if prepared is None:
            tasks = [asyncio.ensure_future(self._prepare(p)) for p in plans]
            try:
                prepared = list(await asyncio.gather(*tasks, return_exceptions=True))
            except (
                BaseException
            ):  # cancelled while preparing: nothing is sent, what was prepared is given back
                for task in tasks:
                    task.add_done_callback(_release_prepared)
                    task.cancel()
                raise
        times = times if times is not None else SubmitTimes()
        try:
            await asyncio.gather(
                *(self._send_and_record(p, prep, times) for p, prep in zip(plans, prepared, strict=True))
            )
        finally:
            for prep in prepared:  # a send never started (cancelled) must not hold its venue's key
                if isinstance(prep, PreparedOrder):
                    prep.release()

    async def _prepare(self, plan: OrderPlan) -> Callable[[], Awaitable[OrderInfo]] | None:
        if plan.post_only_price is not None:
            return None
        return await plan.leg.client.prepare_market_order(
            plan.leg.symbol,
            plan.side,
            plan.quantity,
            max_slippage_bps=plan.slippage_bps,
            reduce_only=plan.reduce_only,
            client_order_id=plan.client_order_id,
        )

    async def _send_and_record(self, plan: OrderPlan, prepared: Any, times: SubmitTimes) -> None:
        """Send one order and persist its outcome as soon as the venue answered (each leg on its own: a crash
        while the other leg is still in flight keeps what this one did)."""
        sent_at = self.ctx.now()
        info, error, fills = await self._send(plan, prepared, times)
        if info is None and error is None:
            return  # outcome unknown: stays pending for `resolve_unknown` / `settle`
        async with self.ctx.engine.begin() as conn:
            await state.apply_order_info(conn, plan.row_id, info, error=error, fills=fills, sent_at=sent_at)

    async def _send(
        self, plan: OrderPlan, prepared: Any = None, times: SubmitTimes | None = None
    ) -> tuple[OrderInfo | None, str | None, list[Fill]]:
        """Place one order (`prepared`: the send of `_prepare`, or the exception it raised, or None for a
        post-only limit); returns (final info, error, fills). (None, None, []) = outcome unknown."""
        leg, client, cid = plan.leg, plan.leg.client, plan.client_order_id
        started = time.perf_counter()
        if times is not None:
            times.starts.append(started)
        round_trip = metrics.ORDER_ROUND_TRIP_SECONDS.labels(venue=leg.venue)
        try:
            if isinstance(prepared, BaseException):
                raise prepared
            if prepared is not None:
                info = await prepared()
                round_trip.observe(time.perf_counter() - started)
            elif plan.post_only_price is not None:
                info = await client.place_limit_order(
                    leg.symbol,
                    plan.side,
                    plan.quantity,
                    plan.post_only_price,
                    post_only=True,
                    reduce_only=plan.reduce_only,
                    client_order_id=cid,
                )
                round_trip.observe(time.perf_counter() - started)
                info = await self._await_post_only(leg, info)
            else:
                info = await client.place_market_order(
                    leg.symbol,
                    plan.side,
                    plan.quantity,
                    max_slippage_bps=plan.slippage_bps,
                    reduce_only=plan.reduce_only,
                    client_order_id=cid,
                )
                round_trip.observe(time.perf_counter() - started)
        except VenueRejectedError as exc:
            metrics.count_venue_error(leg.venue, exc)
            # refused (including a market order refused for want of a fresh book): it may still exist if the
            # rejection came after a timeout-and-retry, so look it up before believing it
            found = await self._lookup(leg, cid)
            if found is None:
                return None, f"{type(exc).__name__}: {exc}", []
            info = found
        except VenueError as exc:
            metrics.count_venue_error(leg.venue, exc)
            log.warning("%s order %s: %s; reconciling by client order id", leg.venue, cid, exc)
            found = await self._lookup(leg, cid)
            if found is None:
                return None, None, []
            info = found
        if not info.status.is_final:
            info = await self._finish(leg, info)
        fills = await self._fills_of(leg, cid) if info.filled_quantity > 0 else []
        return info, None, fills

    async def _await_post_only(self, leg: Leg, info: OrderInfo) -> OrderInfo:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(self.rules.post_only_timeout_seconds)
        while not info.status.is_final and loop.time() < deadline:
            await asyncio.sleep(0.2)
            found = await leg.client.get_order_info(leg.symbol, client_order_id=info.client_order_id)
            if found is not None:
                info = found
        return info

    async def _finish(self, leg: Leg, info: OrderInfo) -> OrderInfo:
        """Cancel a still-resting order and read its final state."""
        cid = info.client_order_id
        assert cid is not None
        try:
            await leg.client.cancel_order(leg.symbol, client_order_id=cid)
        except VenueError as exc:
            log.info("%s cancel of %s: %s", leg.venue, cid, exc)
        found = await self._lookup(leg, cid)
        return found or info

    async def _lookup(self, leg: Leg, cid: str) -> OrderInfo | None:
        for attempt in range(3):
            try:
                return await leg.client.get_order_info(leg.symbol, client_order_id=cid)
            except VenueRejectedError:
                return None
            except VenueError as exc:
                log.warning("%s lookup of %s failed (%s), attempt %d", leg.venue, cid, exc, attempt + 1)
                await asyncio.sleep(0.2 * (attempt + 1))
        return None

    async def _fills_of(self, leg: Leg, cid: str) -> list[Fill]:
        since = self.ctx.now() - FILL_LOOKBACK
        try:
            fills = await leg.client.get_fills(since - timedelta(hours=1), leg.symbol)
        except VenueError as exc:
            log.warning("%s fills of %s unavailable: %s", leg.venue, cid, exc)
            return []
        return [f for f in fills if f.client_order_id == cid]

    # ------------------------------------------------------------------------------------------------- reads

    async def _leg_sizes(self, long: Leg, short: Leg) -> tuple[Decimal, Decimal]:
        """(long leg size, short leg size), both >= 0, from the venues. A leg on the wrong side counts as 0 and
        is reported (it is not this position's)."""
        snaps = await asyncio.gather(self._snapshot_qty(long), self._snapshot_qty(short))
        lq, sq = snaps[0], -snaps[1]
        if lq < 0 or sq < 0:
            await self.ctx.event(
                "wrong_side",
                f"{long.symbol}: long venue {long.venue} shows {snaps[0]}, short venue {short.venue} shows {snaps[1]}",
                level="error",
            )
        return max(lq, ZERO), max(sq, ZERO)

    async def _snapshot_qty(self, leg: Leg) -> Decimal:
        for attempt in range(5):
            try:
                snap = await leg.client.get_position_snapshot(leg.symbol)
                return ZERO if snap is None else snap.quantity
            except VenueError as exc:
                log.warning("%s position read failed (%s), attempt %d", leg.venue, exc, attempt + 1)
                await asyncio.sleep(0.3 * (attempt + 1))
        raise VenueError(leg.venue, f"position of {leg.symbol} unreadable after 5 attempts")

    @staticmethod
    def tradeable(leg: Leg, quantity: Decimal) -> Decimal | None:
        """`quantity` rounded down to the leg's size step, or None when below its minimum (untradeable)."""
        try:
            return round_quantity(quantity, leg.attrs.size_step, min_size=leg.attrs.min_size)
        except RoundingError:
            return None

    @staticmethod
    async def _entry_prices(
        conn: Any, position_id: int, long_venue: str, short_venue: str
    ) -> tuple[Decimal | None, Decimal | None]:
        rows = await state.orders_of_position(conn, position_id)
        out: list[Decimal | None] = []
        for venue, side in ((long_venue, "buy"), (short_venue, "sell")):
            qty = sum((r.filled_quantity for r in rows if r.venue == venue and r.side == side), ZERO)
            cash = sum(
                (
                    r.filled_quantity * (r.avg_fill_price or ZERO)
                    for r in rows
                    if r.venue == venue and r.side == side
                ),
                ZERO,
            )
            out.append(cash / qty if qty > 0 else None)
        return out[0], out[1]


async def position_figures(
    conn: Any, position_id: int, long_venue: str, short_venue: str
) -> dict[str, Decimal]:
    """PnL decomposition of a position from its stored fills and funding payments (USD):
    fees (paid, + = cost), basis_pnl (Σ sell p·q - Σ buy p·q over both legs; the price PnL once flat),
    funding_long / funding_short (+ received), realized_pnl = funding + basis - fees."""
    rows = (
        await conn.execute(
            select(state.FILLS.c.side, state.FILLS.c.price, state.FILLS.c.quantity, state.FILLS.c.fee)
            .join(state.ORDERS, state.ORDERS.c.id == state.FILLS.c.order_id)
            .where(state.ORDERS.c.position_id == position_id)
        )
    ).all()
    fees = sum((Decimal(r.fee) for r in rows), ZERO)
    basis = sum(
        ((Decimal(r.price) * Decimal(r.quantity)) * (1 if r.side == "sell" else -1) for r in rows), ZERO
    )
    funding = await state.funding_of_position(conn, position_id)
    fl, fs = funding.get(long_venue, ZERO), funding.get(short_venue, ZERO)
    return {
        "funding_long": fl,
        "funding_short": fs,
        "fees": fees,
        "basis_pnl": basis,
        "realized_pnl": fl + fs + basis - fees,
    }
