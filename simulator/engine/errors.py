"""Errors of the simulator's trading engine. Order rejections are not errors: `Engine.submit` returns the order
with `status == REJECTED` and its `reason`."""

from __future__ import annotations

from perparb_core.errors import PerparbError
from simulator.engine.orders import Reason


class EngineError(PerparbError):
    """A call the engine cannot serve (unknown account/market/order, bad argument). Order rejections are not
    errors: `submit` returns the order with `status == REJECTED` and its `reason`."""


class UnknownAccountError(EngineError):
    """No account with this id."""


class UnknownMarketError(EngineError):
    """No market with this symbol."""


class OrderNotFoundError(EngineError):
    """The account has no order with this id / client order id (Paradex ORDER_ID_NOT_FOUND)."""


class InvalidModifyError(EngineError):
    """A modification the market's grid refuses; `reason` is the engine's `Reason`."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class OrderNotOpenError(EngineError):
    """The order exists but is no longer open (Paradex ORDER_IS_CLOSED)."""


class InsufficientMarginError(EngineError):
    """A withdrawal would leave equity below the initial margin requirement."""


class LeverageError(EngineError):
    """A leverage the market refuses: below 1 or above the market's maximum (1 / its minimum initial margin
    fraction)."""
