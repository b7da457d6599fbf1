"""Lighter transactions in the simulator (`TransactionsMixin` of `LighterTrading`): `sendTx` / `sendTxBatch` decoded,
checked and executed on the engine.

Transactions (`POST /api/v1/sendTx`, form `tx_type`, `tx_info` = the signer's JSON text; `price_protection`
ignored). **Signatures (`Sig`) are never verified**: the signer library exports no verification. `ExpiredAt`,
`OrderExpiry` and auth-token deadlines are not checked: the SDK stamps them with the wall clock, while the
simulator's clock may run thousands of times faster. Checks in order, each an HTTP 400 `{"code", "message"}`
that leaves the nonce unchanged:

| check | code, message |
|---|---|
| tx_type other than 14 (create order), 15 (cancel), 16 (cancel all), 17 (modify), 20 (update leverage) | 21505 "unsupported tx type" |
| tx_info not a JSON object / a field missing or not an integer | 21501 "invalid tx info" |
| `AccountIndex` has no registered API key (`simulator.lighter.auth`) | 21100 "account not found" |
| `ApiKeyIndex` not registered for the account | 21109 "api key not found" |
| `Nonce` != the slot's next nonce (`GET /api/v1/nextNonce`) | 21104 "invalid nonce" (lighter-sdk then refetches its nonce) |
| create: `MarketIndex` not traded / `BaseAmount` not in 1..2^48-1 / `Price` not in 1..2^32-1 | 21602 / 21701 / 21702 |
| create: `IsAsk` / `Type` 2-6 / other `Type` / `TimeInForce` (market needs IOC) / `ReduceOnly` / `ClientOrderIndex` | 21703 / 21710 / 21704 / 21705 / 21740 / 21727 |
| create: below `min_base_amount` or `min_quote_amount` (at the order's price) | 21706 "invalid order base or quote amount" |
| create: client order index used before by the account | 21728 "client order index already exists" (the engine never reuses one) |
| create: a resting order (GTT / post-only limit) without enough margin | 21739 "not enough margin to create the order" |
| cancel: no open order with this `Index` (>= 2^48: order index, else client order index) | 21600 "given order is not an active limit order" |
| leverage: `MarketIndex` not traded / `MarginMode` not 0 (cross; isolated is not simulated) / `InitialMarginFraction` (1e-4 units) outside `min_initial_margin_fraction`..10000 | 21602 / 20001 "invalid param" |

Anything else is accepted: the nonce advances and the answer is `RespSendTx` (`venue-data/lighter/rest_sendTx_response.json`
plus the SDK's required `volume_quota_remaining`). What the sequencer decides afterwards shows as the order's
status (Lighter's docs: "taker orders will go through regardless ... and only fail at the sequencer level"):
`canceled-post-only` (post-only that would cross), `canceled-reduce-only`, `canceled-margin-not-allowed` (IOC /
market without margin), `canceled-too-much-slippage` (market order beyond its worst `Price`),
`canceled-not-enough-liquidity`, `canceled-self-trade`, `canceled` (IOC remainder, injected fault), `filled`,
`open`. A reduce-only order larger than the position is clamped (Lighter: "executing partially ... remaining portion
canceled once the position reaches zero"). Market orders trade each fill at or better than `Price` (the engine's
per-fill bound; Lighter bounds the average). `tx_hash` is a BLAKE2b-320 of the tx_info text (the signer's
Poseidon hash is not recomputed). `sendTxBatch` (`tx_types`, `tx_infos` JSON arrays, at most 50, one account and
key, nonces consecutive from the next nonce) runs the transactions in order and stops at the first refused one
(the ones before it stay executed).

Cancel all (16): `TimeInForce` 0 = now (all markets, or the market in `L2TxAttributes["5"]`, the key the signer
uses), 1 = scheduled at `Time` (simulator clock, ms; shown as the account's `cancel_all_time`), 2 = abort the
scheduled one.
"""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import pairwise
from typing import Any, ClassVar

from simulator.engine import (
    InvalidModifyError,
    LeverageError,
    Order,
    OrderNotFoundError,
    OrderNotOpenError,
    OrderStatus,
    OrderType,
    Reason,
    Side,
    TimeInForce,
)
from simulator.lighter.auth import LighterApiKey
from simulator.lighter.errors import (
    BATCH_LENGTH_MISMATCH,
    BATCH_MULTIPLE_OWNER,
    BATCH_TOO_LONG,
    CLIENT_ORDER_INDEX_EXISTS,
    INACTIVE_CANCEL,
    INVALID_BASE_AMOUNT,
    INVALID_CANCEL_ALL_TIF,
    INVALID_CLIENT_ORDER_INDEX,
    INVALID_IS_ASK,
    INVALID_MARKET_INDEX,
    INVALID_NONCE,
    INVALID_ORDER_AMOUNT,
    INVALID_ORDER_TYPE,
    INVALID_PARAM,
    INVALID_PRICE,
    INVALID_REDUCE_ONLY_MODE,
    INVALID_TIME_IN_FORCE,
    INVALID_TX_INFO,
    NON_INCREASING_NONCE,
    NOT_ENOUGH_ORDER_MARGIN,
    UNSUPPORTED_ORDER_TYPE,
    UNSUPPORTED_TX_TYPE,
    LighterRequestError,
)
from simulator.lighter.markets import LIGHTER_MARGIN_TICK
from simulator.lighter.state import LighterState
from simulator.lighter.wire import ORDER_INDEX_BASE, OrderMeta, hash_tx

CLIENT_ORDER_INDEX_MAX = (1 << 48) - 1
BASE_AMOUNT_MAX = (1 << 48) - 1
PRICE_MAX = (1 << 32) - 1
BATCH_MAX = 50  # AppErrMaxBatchTx "maximum 50 transactions allowed per batch"
CANCEL_ALL_MARKET_ATTRIBUTE = "5"  # L2TxAttributes key the signer uses for cancel-all's market index
TX_CREATE_ORDER = 14
TX_CANCEL_ORDER = 15
TX_CANCEL_ALL = 16
TX_MODIFY_ORDER = 17

TX_UPDATE_LEVERAGE = (
    20  # lighter-sdk SignerClient.sign_update_leverage: MarketIndex, InitialMarginFraction, MarginMode
)

CROSS_MARGIN_MODE = 0  # lighter-sdk SignerClient.CROSS_MARGIN_MODE
SEND_TX_MESSAGE = '{"ratelimit": "didn\'t use volume quota"}'  # venue-data/lighter/rest_sendTx_response.json


# Engine rejections the venue refuses at the API (HTTP 400, nonce unchanged); the others become order statuses.
_API_REJECTIONS: dict[Reason, tuple[int, str]] = {
    Reason.UNKNOWN_MARKET: INVALID_MARKET_INDEX,
    Reason.INVALID_SIZE: INVALID_BASE_AMOUNT,
    Reason.LOT_SIZE: INVALID_BASE_AMOUNT,
    Reason.MAX_SIZE: INVALID_BASE_AMOUNT,
    Reason.INVALID_PRICE: INVALID_PRICE,
    Reason.TICK_SIZE: INVALID_PRICE,
    Reason.MIN_SIZE: INVALID_ORDER_AMOUNT,
    Reason.MIN_NOTIONAL: INVALID_ORDER_AMOUNT,
    Reason.INVALID_TYPE: INVALID_TIME_IN_FORCE,
    Reason.DUPLICATE_CLIENT_ID: CLIENT_ORDER_INDEX_EXISTS,
}


class TransactionsMixin(LighterState):
    """`send_tx`, `send_tx_batch` and the execution of each transaction type (module docstring)."""

    def send_tx(self, tx_type: int, tx_info_text: str) -> dict[str, Any]:
        """`POST /api/v1/sendTx`: check and execute one transaction (table in the module docstring).

        Returns:
            The `RespSendTx` body (code 200).

        Raises:
            LighterRequestError: the venue's HTTP 400 answer; the nonce is then unchanged.
        """
        self.sync()
        info = self._parse_info(tx_type, tx_info_text)
        slot = self._authorise(info)
        if info["Nonce"] != slot.nonce:
            raise LighterRequestError(INVALID_NONCE, detail=f"got {info['Nonce']}, next is {slot.nonce}")
        tx_hash = hash_tx(tx_info_text)
        self._execute(tx_type, info, tx_hash)
        slot.nonce += 1
        self.block_height += 1
        return {
            "code": 200,
            "message": SEND_TX_MESSAGE,
            "tx_hash": tx_hash,
            "predicted_execution_time_ms": self.engine.now_ms(),
            "volume_quota_remaining": self.config.volume_quota_remaining,
        }

    def send_tx_batch(self, tx_types: list[int], tx_infos: list[str]) -> dict[str, Any]:
        """`POST /api/v1/sendTxBatch`: the transactions in order (one account and key, consecutive nonces).

        Returns:
            The `RespSendTxBatch` body (`tx_hash` list).

        Raises:
            LighterRequestError: 21513 / 21514 / 21501 / 21121 / 21104 / 21105 before anything runs, or the first
                refused transaction's error (those before it stay executed).
        """
        self.sync()
        if len(tx_types) != len(tx_infos):
            raise LighterRequestError(BATCH_LENGTH_MISMATCH)
        if len(tx_types) > BATCH_MAX:
            raise LighterRequestError(BATCH_TOO_LONG)
        if not tx_types:
            raise LighterRequestError(INVALID_TX_INFO, detail="empty batch")
        parsed = [self._parse_info(t, text) for t, text in zip(tx_types, tx_infos, strict=True)]
        owners = {(p["AccountIndex"], p["ApiKeyIndex"]) for p in parsed}
        if len(owners) != 1:
            raise LighterRequestError(BATCH_MULTIPLE_OWNER)
        slot = self._authorise(parsed[0])
        if parsed[0]["Nonce"] != slot.nonce:
            raise LighterRequestError(INVALID_NONCE, detail=f"got {parsed[0]['Nonce']}, next is {slot.nonce}")
        for before, after in pairwise(parsed):
            if after["Nonce"] != before["Nonce"] + 1:
                raise LighterRequestError(NON_INCREASING_NONCE)
        hashes: list[str] = []
        for tx_type, info, text in zip(tx_types, parsed, tx_infos, strict=True):
            tx_hash = hash_tx(text if isinstance(text, str) else json.dumps(text))
            self._execute(tx_type, info, tx_hash)
            slot.nonce += 1
            hashes.append(tx_hash)
        self.block_height += 1
        return {
            "code": 200,
            "message": SEND_TX_MESSAGE,
            "tx_hash": hashes,
            "predicted_execution_time_ms": self.engine.now_ms(),
            "volume_quota_remaining": self.config.volume_quota_remaining,
        }

    _REQUIRED: ClassVar[dict[int, tuple[str, ...]]] = {
        TX_CREATE_ORDER: (
            "MarketIndex",
            "ClientOrderIndex",
            "BaseAmount",
            "Price",
            "IsAsk",
            "Type",
            "TimeInForce",
            "ReduceOnly",
            "TriggerPrice",
            "OrderExpiry",
        ),
        TX_CANCEL_ORDER: ("MarketIndex", "Index"),
        TX_CANCEL_ALL: ("TimeInForce", "Time"),
        TX_MODIFY_ORDER: ("MarketIndex", "Index", "BaseAmount", "Price", "TriggerPrice"),
        TX_UPDATE_LEVERAGE: ("MarketIndex", "InitialMarginFraction", "MarginMode"),
    }

    def _parse_info(self, tx_type: Any, text: Any) -> dict[str, Any]:
        if not isinstance(tx_type, int) or isinstance(tx_type, bool) or tx_type not in self._REQUIRED:
            raise LighterRequestError(UNSUPPORTED_TX_TYPE, detail=f"tx_type {tx_type!r}")
        if isinstance(text, dict):
            info: Any = text
        else:
            try:
                info = json.loads(text)
            except (TypeError, ValueError):
                raise LighterRequestError(INVALID_TX_INFO, detail="not JSON") from None
        if not isinstance(info, dict):
            raise LighterRequestError(INVALID_TX_INFO, detail="not a JSON object")
        for key in ("AccountIndex", "ApiKeyIndex", "Nonce", *self._REQUIRED[tx_type]):
            value = info.get(key)
            if not isinstance(value, int) or isinstance(value, bool):
                raise LighterRequestError(INVALID_TX_INFO, detail=f"{key}={value!r}")
        return info

    def _authorise(self, info: dict[str, Any]) -> LighterApiKey:
        slot = self._slot(info["AccountIndex"], info["ApiKeyIndex"])
        self.ensure_account(info["AccountIndex"])
        return slot

    def _execute(self, tx_type: int, info: dict[str, Any], tx_hash: str) -> None:
        if tx_type == TX_CREATE_ORDER:
            self._create_order(info, tx_hash)
        elif tx_type == TX_CANCEL_ORDER:
            self._cancel_order(info)
        elif tx_type == TX_MODIFY_ORDER:
            self._modify_order(info)
        elif tx_type == TX_UPDATE_LEVERAGE:
            self._update_leverage(info)
        else:
            self._cancel_all(info)

    def _create_order(self, info: dict[str, Any], tx_hash: str) -> None:
        account_id = info["AccountIndex"]
        market = self.markets.get(info["MarketIndex"])
        if market is None:
            raise LighterRequestError(INVALID_MARKET_INDEX, detail=f"market {info['MarketIndex']}")
        base_amount, price_int = info["BaseAmount"], info["Price"]
        if not 1 <= base_amount <= BASE_AMOUNT_MAX:
            raise LighterRequestError(INVALID_BASE_AMOUNT, detail=str(base_amount))
        if not 1 <= price_int <= PRICE_MAX:
            raise LighterRequestError(INVALID_PRICE, detail=str(price_int))
        if info["IsAsk"] not in (0, 1):
            raise LighterRequestError(INVALID_IS_ASK)
        kind = info["Type"]
        if 2 <= kind <= 6:
            raise LighterRequestError(UNSUPPORTED_ORDER_TYPE, detail=f"Type {kind} (trigger / TWAP orders)")
        if kind not in (0, 1):
            raise LighterRequestError(INVALID_ORDER_TYPE, detail=f"Type {kind}")
        tif_int = info["TimeInForce"]
        if tif_int not in (0, 1, 2) or (kind == 1 and tif_int != 0):
            raise LighterRequestError(INVALID_TIME_IN_FORCE, detail=f"TimeInForce {tif_int}")
        if info["ReduceOnly"] not in (0, 1):
            raise LighterRequestError(INVALID_REDUCE_ONLY_MODE)
        client = info["ClientOrderIndex"]
        if not 0 <= client <= CLIENT_ORDER_INDEX_MAX:
            raise LighterRequestError(INVALID_CLIENT_ORDER_INDEX, detail=str(client))
        tif = (TimeInForce.IOC, TimeInForce.GTC, TimeInForce.POST_ONLY)[tif_int]
        order = self.engine.place(
            account_id,
            market.symbol,
            Side.SELL if info["IsAsk"] else Side.BUY,
            Decimal(base_amount).scaleb(-market.size_decimals),
            Decimal(price_int).scaleb(-market.price_decimals),
            type=OrderType.MARKET if kind == 1 else OrderType.LIMIT,
            tif=TimeInForce.IOC if kind == 1 else tif,
            reduce_only=bool(info["ReduceOnly"]),
            client_id=client or None,
        )
        error = self._api_rejection(order)
        if error is not None:
            self.engine.accounts[account_id].orders.pop(order.order_id, None)
            self.hub.forget_order(order)
            raise LighterRequestError(error, detail=order.reason.value if order.reason else "")
        expiry = info["OrderExpiry"]
        self.register_order_meta(
            order,
            OrderMeta(
                order_index=ORDER_INDEX_BASE + order.order_id,
                owner=account_id,
                nonce=info["Nonce"],
                api_key_index=info["ApiKeyIndex"],
                tx_hash=tx_hash,
                block_height=self.block_height,
                order_expiry=expiry if expiry > 0 else 0,
            ),
        )

    @staticmethod
    def _api_rejection(order: Order) -> tuple[int, str] | None:
        """The venue's API-level error for an engine rejection, None when the venue accepts the transaction."""
        if order.status is not OrderStatus.REJECTED or order.reason is None:
            return None
        if order.reason is Reason.INSUFFICIENT_MARGIN:
            resting = order.type is OrderType.LIMIT and order.tif is not TimeInForce.IOC
            return NOT_ENOUGH_ORDER_MARGIN if resting else None
        return _API_REJECTIONS.get(order.reason)

    def _resolve_order(self, info: dict[str, Any]) -> tuple[int, Order]:
        """(account id, resting order) named by `MarketIndex` + `Index` (an order index, or a client order index
        below 2^48), as cancel (15) and modify (17) address orders. Raises LighterRequestError 21602 / 21600."""
        account_id, index = info["AccountIndex"], info["Index"]
        market = self.markets.get(info["MarketIndex"])
        if market is None:
            raise LighterRequestError(INVALID_MARKET_INDEX, detail=f"market {info['MarketIndex']}")
        account = self.engine.account(account_id)
        if index >= ORDER_INDEX_BASE:
            order_id = self.by_index.get(index)
        elif index > 0:
            order_id = account.client_ids.get(index)
        else:
            order_id = None
        order = account.orders.get(order_id) if order_id is not None else None
        if order is None or order.market != market.symbol or not order.resting:
            raise LighterRequestError(INACTIVE_CANCEL, detail=f"index {index}")
        return account_id, order

    def _cancel_order(self, info: dict[str, Any]) -> None:
        account_id, order = self._resolve_order(info)
        try:
            self.engine.cancel(account_id, order.order_id)
        except (OrderNotFoundError, OrderNotOpenError):
            raise LighterRequestError(INACTIVE_CANCEL, detail=f"index {info['Index']}") from None

    def _modify_order(self, info: dict[str, Any]) -> None:
        """tx type 17: new `BaseAmount` (total size) and `Price` for a resting limit order, same order index; it
        loses time priority and may match at once (`Engine.modify`). Trigger prices are not supported."""
        account_id, order = self._resolve_order(info)
        market = self.markets[info["MarketIndex"]]
        base_amount, price_int = info["BaseAmount"], info["Price"]
        if not 1 <= base_amount <= BASE_AMOUNT_MAX:
            raise LighterRequestError(INVALID_BASE_AMOUNT, detail=str(base_amount))
        if not 1 <= price_int <= PRICE_MAX:
            raise LighterRequestError(INVALID_PRICE, detail=str(price_int))
        if info["TriggerPrice"]:
            raise LighterRequestError(UNSUPPORTED_ORDER_TYPE, detail="TriggerPrice (trigger orders)")
        try:
            self.engine.modify(
                account_id,
                order.order_id,
                price=Decimal(price_int).scaleb(-market.price_decimals),
                size=Decimal(base_amount).scaleb(-market.size_decimals),
            )
        except InvalidModifyError as exc:
            error = INVALID_PRICE if exc.reason is Reason.TICK_SIZE else INVALID_ORDER_AMOUNT
            raise LighterRequestError(error, detail=exc.reason.value) from None
        except (OrderNotFoundError, OrderNotOpenError):
            raise LighterRequestError(INACTIVE_CANCEL, detail=f"index {info['Index']}") from None

    def _update_leverage(self, info: dict[str, Any]) -> None:
        """tx type 20 (lighter-sdk `update_leverage` -> `sign_update_leverage`; tx_info fields `MarketIndex`,
        `InitialMarginFraction` in 1e-4 units = int(10000 / leverage), `MarginMode` 0 cross / 1 isolated): the
        account's initial margin fraction in the market (`Engine.set_initial_margin_fraction`), reported by its
        positions' `initial_margin_fraction`. Only cross margin is simulated."""
        market = self.markets.get(info["MarketIndex"])
        if market is None:
            raise LighterRequestError(INVALID_MARKET_INDEX, detail=f"market {info['MarketIndex']}")
        if info["MarginMode"] != CROSS_MARGIN_MODE:
            raise LighterRequestError(INVALID_PARAM, detail=f"MarginMode {info['MarginMode']} (isolated)")
        fraction = Decimal(info["InitialMarginFraction"]) / LIGHTER_MARGIN_TICK
        try:
            self.engine.set_initial_margin_fraction(info["AccountIndex"], market.symbol, fraction)
        except LeverageError as exc:
            raise LighterRequestError(INVALID_PARAM, detail=str(exc)) from None
        self.hub.touch(info["AccountIndex"])

    def _cancel_all(self, info: dict[str, Any]) -> None:
        account_id, tif, at = info["AccountIndex"], info["TimeInForce"], info["Time"]
        if tif == 0:
            attributes = info.get("L2TxAttributes")
            market_id = attributes.get(CANCEL_ALL_MARKET_ATTRIBUTE) if isinstance(attributes, dict) else None
            symbol: str | None = None
            if isinstance(market_id, int) and market_id != 255:
                market = self.markets.get(market_id)
                if market is None:
                    raise LighterRequestError(INVALID_MARKET_INDEX, detail=f"market {market_id}")
                symbol = market.symbol
            self.engine.cancel_all(account_id, symbol)
        elif tif == 1:
            if at <= 0:
                raise LighterRequestError(INVALID_CANCEL_ALL_TIF, detail=f"Time {at}")
            self.cancel_all_at[account_id] = at
        elif tif == 2:
            self.cancel_all_at.pop(account_id, None)
        else:
            raise LighterRequestError(INVALID_CANCEL_ALL_TIF, detail=f"TimeInForce {tif}")
