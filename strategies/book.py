"""A run's book: its legs, exposure and PnL decomposition in USD, as the metrics, the equity curve and the risk
guardian see it.

`RunBook` is built by each strategy (`Strategy.book()`); the funding-arbitrage strategy builds it from the
database alone (`funding_arbitrage_book`: its positions rows, their per-leg `monitor` snapshot of the venues'
positions refreshed every cycle, their orders' fees), so it costs no venue call.

Decomposition (all USD(C), + = gain):
* `funding_usd`: funding received (+) or paid (-) by the run's positions (`positions.funding_long/short`);
* `realised_usd`: closed positions' basis PnL minus their fees, plus the fees already paid on open positions
  (entry fees are a realised cost; a position closed outside the run, whose closing trades are unknown, adds 0);
* `unrealised_usd`: the open legs' unrealised price PnL at the venues' mark price (the venues' own figure);
* `equity_usd = funding_usd + realised_usd + unrealised_usd`.

Which positions: the live ones of the account and mode (a run adopts what an earlier run left open) and those
closed since this run started.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from strategies.state import ORDERS, POSITIONS, RUNS

ZERO = Decimal(0)
LIVE = ("opening", "open", "closing")


@dataclass(frozen=True, slots=True)
class LegExposure:
    """One open leg. `quantity` signed base units (+ long); `notional_usd` signed (quantity x mark);
    `liquidation_distance` |mark - liquidation| / mark (None when the venue gives no liquidation price);
    `margin_ratio` margin / |notional| (None when unknown); `position_id` None for a grid's inventory."""

    venue: str
    symbol: str
    quantity: Decimal
    mark_price: Decimal | None
    notional_usd: Decimal
    unrealised_usd: Decimal
    liquidation_distance: Decimal | None
    margin_ratio: Decimal | None
    position_id: int | None = None


@dataclass(frozen=True, slots=True)
class RunBook:
    """A run's book at `at` (see the module docstring for the figures)."""

    at: datetime
    legs: tuple[LegExposure, ...] = ()
    open_positions: int = 0
    funding_usd: Decimal = ZERO
    realised_usd: Decimal = ZERO
    unrealised_usd: Decimal = ZERO
    notes: tuple[str, ...] = field(default=())

    @property
    def equity_usd(self) -> Decimal:
        return self.funding_usd + self.realised_usd + self.unrealised_usd

    @property
    def net_delta_usd(self) -> Decimal:
        """Signed sum of the legs' notionals: ~0 for a delta-neutral book."""
        return sum((leg.notional_usd for leg in self.legs), ZERO)

    @property
    def gross_notional_usd(self) -> Decimal:
        return sum((abs(leg.notional_usd) for leg in self.legs), ZERO)

    def notional_by_venue(self) -> dict[str, Decimal]:
        """|notional| of the open legs per venue, USD."""
        out: dict[str, Decimal] = {}
        for leg in self.legs:
            out[leg.venue] = out.get(leg.venue, ZERO) + abs(leg.notional_usd)
        return out

    def riskiest_position(self) -> int | None:
        """The position to reduce first: the one with the leg nearest liquidation, else the largest notional
        (None when no leg belongs to a position)."""
        legs = [leg for leg in self.legs if leg.position_id is not None]
        if not legs:
            return None
        near = [leg for leg in legs if leg.liquidation_distance is not None]
        if near:
            return min(near, key=lambda leg: leg.liquidation_distance or ZERO).position_id
        return max(legs, key=lambda leg: abs(leg.notional_usd)).position_id


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def leg_from_snapshot(
    snap: dict[str, Any] | None,
    venue: str,
    symbol: str,
    *,
    fallback_quantity: Decimal,
    fallback_price: Decimal | None,
    position_id: int | None,
) -> LegExposure:
    """A leg from a `monitor` snapshot (`strategies.funding_arbitrage.strategy._snap_json`: decimal strings), or
    from the position's own quantity and entry price when no snapshot was taken yet."""
    snap = snap or {}
    quantity = _dec(snap.get("quantity"))
    quantity = fallback_quantity if quantity is None else quantity
    mark = _dec(snap.get("mark_price")) or fallback_price
    notional = quantity * mark if mark is not None else ZERO
    margin = _dec(snap.get("margin"))
    ratio = margin / abs(notional) if margin is not None and notional != 0 else None
    return LegExposure(
        venue=venue,
        symbol=symbol,
        quantity=quantity,
        mark_price=mark,
        notional_usd=notional,
        unrealised_usd=_dec(snap.get("unrealized_pnl")) or ZERO,
        liquidation_distance=_dec(snap.get("liquidation_distance")),
        margin_ratio=ratio,
        position_id=position_id,
    )


async def funding_arbitrage_book(
    conn: AsyncConnection, run_id: int, account: str, mode: str, at: datetime
) -> RunBook:
    """The book of a funding-arbitrage run from the database (module docstring)."""
    p, o = POSITIONS.c, ORDERS.c
    started = select(RUNS.c.started_at).where(RUNS.c.id == run_id).scalar_subquery()
    rows = (
        await conn.execute(
            select(POSITIONS)
            .where(
                p.account_name == account,
                p.mode == mode,
                or_(p.status.in_(LIVE), and_(p.status == "closed", p.closed_at >= started)),
            )
            .order_by(p.id)
        )
    ).all()
    live_ids = [r.id for r in rows if r.status in LIVE]
    fees: dict[int, Decimal] = {}
    if live_ids:
        for pid, fee in await conn.execute(
            select(o.position_id, func.coalesce(func.sum(o.fee), 0))
            .where(o.position_id.in_(live_ids))
            .group_by(o.position_id)
        ):
            fees[pid] = Decimal(fee)
    legs: list[LegExposure] = []
    funding = realised = unrealised = ZERO
    notes: list[str] = []
    for r in rows:
        funding += r.funding_long + r.funding_short
        if r.status == "closed":
            if r.realized_pnl is None:
                notes.append(f"position {r.id} closed outside the run: its closing trades are not counted")
            else:
                realised += r.basis_pnl - r.fees
            continue
        realised -= fees.get(r.id, ZERO)
        monitor = r.monitor or {}
        if r.quantity <= 0 and not monitor:
            continue  # an entry not filled yet: nothing held
        long = leg_from_snapshot(
            monitor.get("long"),
            r.long_venue,
            r.symbol,
            fallback_quantity=r.quantity,
            fallback_price=r.entry_long_price,
            position_id=r.id,
        )
        short = leg_from_snapshot(
            monitor.get("short"),
            r.short_venue,
            r.symbol,
            fallback_quantity=-r.quantity,
            fallback_price=r.entry_short_price,
            position_id=r.id,
        )
        legs.extend(leg for leg in (long, short) if leg.quantity != 0)
        unrealised += long.unrealised_usd + short.unrealised_usd
    return RunBook(
        at=at,
        legs=tuple(legs),
        open_positions=len({leg.position_id for leg in legs}),
        funding_usd=funding,
        realised_usd=realised,
        unrealised_usd=unrealised,
        notes=tuple(notes),
    )


def legs_of(book: RunBook) -> Iterable[tuple[str, str]]:
    """(venue, symbol) of every open leg."""
    return ((leg.venue, leg.symbol) for leg in book.legs)
