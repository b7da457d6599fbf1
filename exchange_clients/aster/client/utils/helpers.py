"""Small helpers of the Aster client: client order ids and time conversions."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from exchange_clients.aster.common import AsterRejectedError

#: Aster's `newClientOrderId` rule (V3 docs "New Order": `^[\.A-Z\:/a-z0-9_-]{1,36}$`; -4015 beyond 36 chars).
CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def venue_client_id(client_order_id: str, market: str | None = None) -> str:
    """perparb's client order id as Aster's `newClientOrderId`: the same text (perparb's ids are decimal numbers
    below 2^48, `strategies.state.client_order_id`, which Aster accepts as they are), so the mapping is the identity
    and an order is found by its id after a restart.

    Raises:
        AsterRejectedError: an id Aster would refuse (-4015): empty, over 36 characters or another character."""
    if not CLIENT_ORDER_ID.match(client_order_id):
        raise AsterRejectedError(
            f"client order id {client_order_id!r} is not 1-36 of [A-Za-z0-9.:/_-] (Aster -4015)", market
        )
    return client_order_id


def to_ms(ts: datetime) -> int:
    """Aware datetime -> epoch ms.

    Raises:
        ValueError: a naive datetime."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}; pass an aware UTC datetime")
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
