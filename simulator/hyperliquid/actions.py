"""`POST /exchange` in the simulator (`ActionsMixin` of `HyperliquidTrading`): the signed actions of
docs for-developers/api/exchange-endpoint.md, checked (signature, signer, nonce: `simulator.hyperliquid.auth`) and
handed to the engine.

Body (SDK `Exchange._post_action`): `{"action", "nonce" (ms), "signature" {r, s, v}, "vaultAddress",
"expiresAfter"}`. Answers are HTTP 200 `{"status":"ok","response":...}` or `{"status":"err","response":"<text>"}`
(the whole action refused: unknown signer, bad nonce, expired, vault trading, an action not simulated); a body that
cannot be read is HTTP 422 "Failed to deserialize the JSON body into the target type" (the venue's plain-text
answer, see `exchange_clients/hyperliquid/http.py`).

Actions:
* `order` (`grouping` "na"; wires `{a, b, p, s, r, t: {limit: {tif: Gtc|Ioc|Alo}}, c?}`): one status per wire,
  `{"resting":{"oid"}}`, `{"filled":{"totalSz","avgPx","oid"}}` or `{"error": text}`. Texts (each followed by
  " asset=<a>", as rest_exchange_order_error_insufficient_margin.json): "Order must have minimum value of $10."
  (recorded), "Insufficient margin to place order." (recorded), "Post only order would have immediately matched,
  bbo was <bid>@<ask>.", "Order could not immediately match against any resting orders." (an IOC that filled
  nothing), "Reduce only order would increase position.", "Order has invalid price." (the 5-significant-figure
  rule, `markets.valid_price`), "Order has invalid size.", "Trigger orders are not simulated.", and for an injected
  engine fault "Order rejected: simulated fault (reject_next)." (the last two are the simulator's own). An IOC that
  filled partly answers `filled` with its `totalSz` (the rest is cancelled). Every order that reached the engine
  is found again by `orderStatus` (by oid, or by cloid for its user), refused ones with their `...Rejected` status.
  A cloid already used by an order of the user that was accepted is refused ("Order has duplicate cloid.", a
  guess). Trigger orders, TP/SL groupings and builder fees are not simulated.
* `cancel` `{cancels: [{a, o}]}` / `cancelByCloid` `{cancels: [{asset, cloid}]}`: `{"type":"cancel","data":
  {"statuses": ["success" | {"error": "Order was never placed, already canceled, or filled."}]}}` (recorded).
* `updateLeverage` `{asset, isCross, leverage}`: an integer 1..maxLeverage, cross margin only (isolated margin is
  not simulated: refused); `{"type":"default"}` (recorded).
* `approveAgent` (user-signed by the account): approves `agentAddress` for the signer; `{"type":"default"}`.
* `scheduleCancel`: refused with the venue's recorded text ("Cannot set scheduled cancel time until enough volume
  traded. Required: $1000000. Traded: $<volume>.", rest_exchange_err_scheduleCancel.json).
* anything else (`batchModify`, transfers, ...): `{"status":"err"}` "<type> is not simulated".
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from simulator.engine import (
    EngineError,
    LeverageError,
    Order,
    OrderNotFoundError,
    OrderNotOpenError,
    OrderRequest,
    OrderStatus,
    OrderType,
    Reason,
    Side,
)
from simulator.hyperliquid.auth import (
    ActionRefused,
    BadSignature,
    recover_approve_agent_signer,
    recover_l1_signer,
    wall_ms,
)
from simulator.hyperliquid.markets import valid_price, valid_size
from simulator.hyperliquid.state import Coin, HyperliquidState, OrderMeta, parse_address
from simulator.hyperliquid.wire import WIRE_TIF, num

log = logging.getLogger("perparb.simulator")

DESERIALIZE = "Failed to deserialize the JSON body into the target type"
NEVER_PLACED = "Order was never placed, already canceled, or filled."
SCHEDULE_CANCEL_VOLUME = Decimal(1_000_000)
_CLOID = re.compile(r"^0x[0-9a-f]{32}$")
_REJECT_TEXT = {
    Reason.MIN_SIZE: "Order must have minimum value of $10.",
    Reason.MIN_NOTIONAL: "Order must have minimum value of $10.",
    Reason.INSUFFICIENT_MARGIN: "Insufficient margin to place order.",
    Reason.REDUCE_ONLY_WOULD_INCREASE: "Reduce only order would increase position.",
    Reason.REDUCE_ONLY_EXCEEDS_POSITION: "Reduce only order would increase position.",
    Reason.TICK_SIZE: "Order has invalid price.",
    Reason.LOT_SIZE: "Order has invalid size.",
    Reason.INVALID_SIZE: "Order has invalid size.",
    Reason.DUPLICATE_CLIENT_ID: "Order has duplicate cloid.",
    Reason.FAULT_INJECTED: "Order rejected: simulated fault (reject_next).",
}


class Unreadable(Exception):
    """The body cannot be deserialised: HTTP 422 with the venue's plain text."""


def _ok(response: Any) -> dict[str, Any]:
    return {"status": "ok", "response": response}


def _err(text: str) -> dict[str, Any]:
    return {"status": "err", "response": text}


class ActionsMixin(HyperliquidState):
    """`POST /exchange` (module docstring)."""

    @staticmethod
    def recover_signer(payload: Any) -> str | None:
        """The signer of an `/exchange` body (`auth.recover_l1_signer`, or the user-signed recovery of
        `approveAgent`), None when the body or its signature cannot be read (`exchange` then answers 422). Pure
        and thread-safe: the app runs it in a worker thread (secp256k1 recovery in pure Python takes ~10 ms), so
        the server keeps serving meanwhile."""
        try:
            if not isinstance(payload, dict) or not isinstance(payload.get("action"), dict):
                return None
            if payload["action"].get("type") == "approveAgent":
                return recover_approve_agent_signer(payload)
            return recover_l1_signer(payload)
        except (BadSignature, KeyError, TypeError):
            return None

    def exchange(self, payload: Any, signer: str | None = None) -> tuple[int, Any]:
        """Check and apply one `/exchange` body; returns (HTTP status, body): 200 with the venue's JSON, or 422
        with its plain text for a body it cannot read. `signer`: the address `recover_signer` found (recovered
        here when not given)."""
        try:
            return 200, self._exchange(payload, signer)
        except Unreadable as exc:
            log.info("hyperliquid /exchange: unreadable body (%s)", exc)
            return 422, DESERIALIZE
        except BadSignature as exc:
            log.info("hyperliquid /exchange: %s", exc)
            return 422, DESERIALIZE
        except ActionRefused as exc:
            log.info("hyperliquid /exchange refused: %s", exc.text)
            return 200, _err(exc.text)

    def _exchange(self, payload: Any, known_signer: str | None) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise Unreadable("body is not an object")
        action, nonce = payload.get("action"), payload.get("nonce")
        if not isinstance(action, dict) or not isinstance(action.get("type"), str):
            raise Unreadable("action must be an object with a type")
        if isinstance(nonce, bool) or not isinstance(nonce, int) or nonce < 0:
            raise Unreadable("nonce must be a non-negative integer (ms)")
        expires = payload.get("expiresAfter")
        if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)):
            raise Unreadable("expiresAfter must be an integer (ms) or null")
        kind = action["type"]
        if kind == "approveAgent":
            return self._approve_agent(payload, action, nonce, known_signer)
        signer = known_signer or recover_l1_signer(payload)
        user = signer if self.is_known(signer) else self.agents.user_of(signer)
        if user is None:
            raise ActionRefused(f"User or API Wallet {signer} does not exist.")
        if payload.get("vaultAddress") is not None:
            raise ActionRefused("Vault and sub-account trading (vaultAddress) is not simulated.")
        if expires is not None and expires < wall_ms():
            raise ActionRefused("Action expired")
        self.nonces.check(signer, nonce)
        self.nonces.use(signer, nonce)
        if kind == "order":
            return _ok(self._orders_action(user, action))
        if kind in ("cancel", "cancelByCloid"):
            return _ok(self._cancel_action(user, action, by_cloid=kind == "cancelByCloid"))
        if kind == "updateLeverage":
            return _ok(self._update_leverage(user, action))
        if kind == "scheduleCancel":
            raise ActionRefused(
                "Cannot set scheduled cancel time until enough volume traded. "
                f"Required: ${SCHEDULE_CANCEL_VOLUME:f}. Traded: ${num(self._volume(user))}."
            )
        raise ActionRefused(f"{kind} is not simulated")

    def _approve_agent(
        self, payload: dict[str, Any], action: dict[str, Any], nonce: int, known_signer: str | None
    ) -> dict[str, Any]:
        signer = known_signer or recover_approve_agent_signer(payload)
        if not self.is_known(signer):
            raise ActionRefused(f"User or API Wallet {signer} does not exist.")
        try:
            agent = parse_address(action.get("agentAddress"), "agentAddress")
        except ValueError as exc:
            raise Unreadable(str(exc)) from None
        if action.get("nonce") != nonce:
            raise ActionRefused("approveAgent: action nonce must equal the request nonce")
        self.nonces.check(signer, nonce)
        self.nonces.use(signer, nonce)
        try:
            self.agents.approve(signer, agent, str(action.get("agentName") or ""))
        except ValueError as exc:
            raise ActionRefused(str(exc)) from None
        return _ok({"type": "default"})

    def _volume(self, user: str) -> Decimal:
        return sum(
            (f.price * f.size for account in self.user_accounts(user) for f in account.fills), Decimal(0)
        )

    # ------------------------------------------------------------------------------------------------ orders

    def _coin_of(self, asset: Any) -> Coin | None:
        if isinstance(asset, bool) or not isinstance(asset, int):
            return None
        return self.assets.get(asset)

    def _orders_action(self, user: str, action: dict[str, Any]) -> dict[str, Any]:
        wires = action.get("orders")
        if not isinstance(wires, list) or not all(isinstance(w, dict) for w in wires):
            raise Unreadable("orders must be a list of order wires")
        if action.get("grouping", "na") != "na":
            raise ActionRefused(f"grouping {action.get('grouping')!r} (TP/SL) is not simulated")
        if action.get("builder") is not None:
            raise ActionRefused("builder fees are not simulated")
        return {"type": "order", "data": {"statuses": [self._place(user, w) for w in wires]}}

    def _place(self, user: str, wire: dict[str, Any]) -> dict[str, Any]:
        coin = self._coin_of(wire.get("a"))
        asset = wire.get("a")
        if coin is None:
            return {"error": f"Order has invalid asset. asset={asset}"}
        suffix = f" asset={coin.asset}"
        order_type = wire.get("t")
        limit = order_type.get("limit") if isinstance(order_type, dict) else None
        if not isinstance(limit, dict):
            text = "Trigger orders are not simulated." if isinstance(order_type, dict) else DESERIALIZE
            return {"error": text + suffix}
        tif_word = limit.get("tif")
        tif = WIRE_TIF.get(tif_word) if isinstance(tif_word, str) else None
        if tif is None or not isinstance(wire.get("b"), bool) or not isinstance(wire.get("r"), bool):
            raise Unreadable(f"order wire of asset {asset}: b / r must be booleans and tif Gtc, Ioc or Alo")
        try:
            price, size = Decimal(str(wire.get("p"))), Decimal(str(wire.get("s")))
        except InvalidOperation:
            raise Unreadable(f"order wire of asset {asset}: p / s must be decimal strings") from None
        if not valid_price(price, coin.sz_decimals):
            return {"error": "Order has invalid price." + suffix}
        if not valid_size(size, coin.sz_decimals):
            return {"error": "Order has invalid size." + suffix}
        cloid = wire.get("c")
        if cloid is not None and (not isinstance(cloid, str) or not _CLOID.match(cloid)):
            raise Unreadable(f"order wire of asset {asset}: c must be 0x + 32 lower-case hex digits")
        account = self.ensure_account(user, coin.dex)
        if cloid is not None:
            previous = self._cloids.get((user, cloid))
            if previous is not None and account.orders.get(previous) is not None:
                if account.orders[previous].status is not OrderStatus.REJECTED:
                    return {"error": "Order has duplicate cloid." + suffix}
        order = self.engine.submit(
            OrderRequest(
                account.account_id,
                coin.name,
                Side.BUY if wire["b"] else Side.SELL,
                size,
                price,
                OrderType.LIMIT,
                tif,
                wire["r"],
                cloid,
            )
        )
        self._orders[order.order_id] = OrderMeta(user, coin.dex, cloid)
        if cloid is not None:
            self._cloids[(user, cloid)] = order.order_id
        return self._order_status(order, coin, suffix)

    def _order_status(self, order: Order, coin: Coin, suffix: str) -> dict[str, Any]:
        if order.resting:
            return {"resting": {"oid": order.order_id}}
        if order.filled > 0:
            avg = order.avg_fill_price
            assert avg is not None
            return {"filled": {"totalSz": num(order.filled), "avgPx": num(avg), "oid": order.order_id}}
        reason = order.reason
        if reason is Reason.POST_ONLY_WOULD_CROSS:
            book = self.engine.markets[coin.name].book
            bid, ask = book.best_bid(), book.best_ask()
            bbo = f"{num(bid) if bid is not None else ''}@{num(ask) if ask is not None else ''}"
            return {"error": f"Post only order would have immediately matched, bbo was {bbo}." + suffix}
        if reason in (Reason.IOC_REMAINDER, Reason.NO_LIQUIDITY, Reason.PRICE_BOUND):
            return {"error": "Order could not immediately match against any resting orders." + suffix}
        if reason is Reason.REDUCE_ONLY_POSITION_CHANGED:
            return {"error": "Reduce only order would increase position." + suffix}
        if reason is Reason.PARTIAL_FILL_FAULT:
            return {"error": "Order rejected: simulated fault (fill_fraction)." + suffix}
        text = _REJECT_TEXT.get(reason) if reason is not None else None
        return {"error": (text or f"Order rejected ({reason.value if reason else 'unknown'}).") + suffix}

    # ------------------------------------------------------------------------------------------------ cancels

    def _cancel_action(self, user: str, action: dict[str, Any], *, by_cloid: bool) -> dict[str, Any]:
        cancels = action.get("cancels")
        if not isinstance(cancels, list) or not all(isinstance(c, dict) for c in cancels):
            raise Unreadable("cancels must be a list of objects")
        statuses: list[Any] = []
        for c in cancels:
            asset = c.get("asset") if by_cloid else c.get("a")
            coin = self._coin_of(asset)
            if coin is None:
                statuses.append({"error": f"{NEVER_PLACED} asset={asset}"})
                continue
            if by_cloid:
                cloid = c.get("cloid")
                order_id = self._cloids.get((user, cloid)) if isinstance(cloid, str) else None
            else:
                oid = c.get("o")
                order_id = oid if isinstance(oid, int) and not isinstance(oid, bool) else None
            statuses.append(self._cancel_one(user, coin, order_id))
        return {"type": "cancel", "data": {"statuses": statuses}}

    def _cancel_one(self, user: str, coin: Coin, order_id: int | None) -> Any:
        account = self.account_of(user, coin.dex)
        meta = self._orders.get(order_id) if order_id is not None else None
        if account is None or order_id is None or meta is None or meta.user != user:
            return {"error": f"{NEVER_PLACED} asset={coin.asset}"}
        order = account.orders.get(order_id)
        if order is None or order.market != coin.name:
            return {"error": f"{NEVER_PLACED} asset={coin.asset}"}
        try:
            self.engine.cancel(account.account_id, order_id)
        except (OrderNotFoundError, OrderNotOpenError):
            return {"error": f"{NEVER_PLACED} asset={coin.asset}"}
        return "success"

    # ------------------------------------------------------------------------------------------------ leverage

    def _update_leverage(self, user: str, action: dict[str, Any]) -> dict[str, Any]:
        coin = self._coin_of(action.get("asset"))
        leverage, cross = action.get("leverage"), action.get("isCross")
        if isinstance(leverage, bool) or not isinstance(leverage, int) or not isinstance(cross, bool):
            raise Unreadable("updateLeverage needs an integer leverage and a boolean isCross")
        if coin is None:
            raise ActionRefused(f"Invalid asset {action.get('asset')}")
        if not cross:
            raise ActionRefused(f"Isolated margin is not simulated (asset {coin.asset}): use isCross true")
        account = self.ensure_account(user, coin.dex)
        try:
            self.engine.set_leverage(account.account_id, coin.name, Decimal(leverage))
        except LeverageError as exc:
            raise ActionRefused(f"Invalid leverage value: {exc}") from None
        except EngineError as exc:
            raise ActionRefused(str(exc)) from None
        return {"type": "default"}
