"""Paradex's spellings of the engine's values (the wire layer): `cancel_reason` per engine `Reason`.

The engine keeps ONE internal enum (`OrderStatus`, `Reason`, spelled `CANCELLED`); Paradex spells a user
cancellation "USER_CANCELED" (recorded `rest_order_closed_user_canceled.json`).
"""

from __future__ import annotations

from simulator.engine import Reason

# Paradex `cancel_reason` per reason. Recorded: USER_CANCELED (rest_order_closed_user_canceled.json),
# NOT_ENOUGH_MARGIN (rest_order_create_docexample.json), ORDER_SIZE_BELOW_MIN (rest_orders-history_sol.json).
# The others are not recorded: the wire layer falls back to the reason's name in upper case.
PARADEX_CANCEL_REASON: dict[Reason, str] = {
    Reason.USER_CANCELLED: "USER_CANCELED",
    Reason.INSUFFICIENT_MARGIN: "NOT_ENOUGH_MARGIN",
    Reason.MIN_NOTIONAL: "ORDER_SIZE_BELOW_MIN",
    Reason.MIN_SIZE: "ORDER_SIZE_BELOW_MIN",
}


def paradex_cancel_reason(reason: Reason | None) -> str:
    """Paradex `cancel_reason` text for `reason` ("" when None)."""
    if reason is None:
        return ""
    return PARADEX_CANCEL_REASON.get(reason, reason.name)
