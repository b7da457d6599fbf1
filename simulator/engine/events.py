"""Events the engine emits to its listeners (`Engine.listeners`): the venue protocols turn them into pushes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from simulator.engine.funding import FundingPayment
from simulator.engine.orders import Fill, Order, Trade


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order was accepted, rejected, filled (partly or fully) or cancelled. `order` is the live object:
    serialise it in the listener."""

    order: Order


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """A trade and both sides' fills (maker first)."""

    trade: Trade
    maker_fill: Fill
    taker_fill: Fill


@dataclass(frozen=True, slots=True)
class FundingEvent:
    """A funding payment was credited/debited."""

    payment: FundingPayment


@dataclass(frozen=True, slots=True)
class LiquidationEvent:
    """An account was liquidated; `fills` are its LIQUIDATION fills (one per position closed)."""

    account_id: int
    ts_ms: int
    fills: tuple[Fill, ...]


@dataclass(frozen=True, slots=True)
class MarkEvent:
    """A market's mark price changed."""

    market: str
    mark_price: Decimal
    ts_ms: int


EngineEvent = OrderEvent | TradeEvent | FundingEvent | LiquidationEvent | MarkEvent
Listener = Callable[[EngineEvent], None]
