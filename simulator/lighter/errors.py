"""Lighter's error answers in the simulator: its business error codes (apidocs.lighter.xyz "Data Structures,
Constants and Errors"), `LighterRequestError` (a refused request: HTTP status + `{"code", "message"}`), the
market-data `InvalidParam`, and the bodies of injected HTTP faults (`lighter_error_body`).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from simulator.lighter.auth import LIGHTER_ACCOUNT_NOT_FOUND

INVALID_PARAM_BODY: dict[str, Any] = {"code": 20001, "message": "invalid param "}
TOO_MANY_REQUESTS: dict[str, Any] = {"code": 23000, "message": "Too Many Requests!"}


def lighter_error_body(status: int) -> dict[str, Any]:
    """Lighter-shaped error body (`ResultCode {code, message}`) for an injected HTTP status.

    400 -> code 20001 "invalid param " (recorded); 429 -> code 23000 "Too Many Requests!" (quoted from a real
    api.rh.lighter.xyz answer in a public adapter's notes); other statuses are not recorded: `code` repeats the
    HTTP status and `message` is its reason phrase.
    """
    if status == 400:
        return dict(INVALID_PARAM_BODY)
    if status == 429:
        return dict(TOO_MANY_REQUESTS)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    return {"code": status, "message": phrase}


class InvalidParam(Exception):
    """A request Lighter would refuse with HTTP 400 code 20001. `reason` is for the simulator's log only."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


# Lighter business errors (apidocs.lighter.xyz "Data Structures, Constants and Errors").
INVALID_PARAM = (20001, "invalid param ")
ACCOUNT_NOT_FOUND = (LIGHTER_ACCOUNT_NOT_FOUND["code"], LIGHTER_ACCOUNT_NOT_FOUND["message"])
INVALID_NONCE = (21104, "invalid nonce")
NON_INCREASING_NONCE = (21105, "batch transaction nonce is not increasing")
API_KEY_NOT_FOUND = (21109, "api key not found")
BATCH_MULTIPLE_OWNER = (21121, "all transactions in the batch must have use same account and apikey")
INVALID_TX_INFO = (21501, "invalid tx info")
UNSUPPORTED_TX_TYPE = (21505, "unsupported tx type")
BATCH_LENGTH_MISMATCH = (21513, "TxInfos and TxTypes should have the same length")
BATCH_TOO_LONG = (21514, "maximum 50 transactions allowed per batch")
INACTIVE_CANCEL = (21600, "given order is not an active limit order")
INVALID_MARKET_INDEX = (21602, "invalid market index")
INVALID_BASE_AMOUNT = (21701, "invalid base amount")
INVALID_PRICE = (21702, "invalid price")
INVALID_IS_ASK = (21703, "invalid isAsk")
INVALID_ORDER_TYPE = (21704, "invalid OrderType")
INVALID_TIME_IN_FORCE = (21705, "invalid OrderTimeInForce")
INVALID_ORDER_AMOUNT = (21706, "invalid order base or quote amount")
UNSUPPORTED_ORDER_TYPE = (21710, "unsupported order type")
INVALID_CANCEL_ALL_TIF = (21713, "invalid cancel all time in force")
INVALID_CLIENT_ORDER_INDEX = (21727, "invalid client order index")
CLIENT_ORDER_INDEX_EXISTS = (21728, "client order index already exists")
NOT_ENOUGH_ORDER_MARGIN = (21739, "not enough margin to create the order")
INVALID_REDUCE_ONLY_MODE = (21740, "invalid reduce only mode")


class LighterRequestError(Exception):
    """A request the venue refuses: HTTP `status` with body `{"code": code, "message": message}`."""

    def __init__(self, error: tuple[int, str], *, status: int = 400, detail: str = "") -> None:
        self.status = status
        self.code, self.message = error
        self.detail = detail
        super().__init__(f"{self.code} {self.message}{': ' + detail if detail else ''}")

    @property
    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}
