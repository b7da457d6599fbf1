"""Aster's pure pieces: the two signing schemes (the V1 docs' worked HMAC example; V3 EIP-712 recovered by the
signer's address over the sorted parameter string), credentials (two schemes, errors naming fields, never values),
parsers on bad input (each rejected field named), client ids, rounding, and the depth-sync rules."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from eth_account import Account
from pydantic import SecretStr, ValidationError

from exchange_clients.aster.client.utils.caching import AsterMarket
from exchange_clients.aster.client.utils.helpers import venue_client_id
from exchange_clients.aster.client.utils.signing import (
    HmacSigner,
    NonceClock,
    WalletSigner,
    eip712_recover,
    hmac_hex,
)
from exchange_clients.aster.common import AsterRejectedError, normalize_symbol, venue_symbol_of
from exchange_clients.aster.credentials import AsterCredentials
from exchange_clients.aster.funding_adapter.fetchers import (
    interval_of,
    parse_exchange_info,
    parse_funding_history,
    parse_funding_info,
    parse_premium_index,
)
from exchange_clients.aster.websocket.order_book import DepthSync
from exchange_clients.base.order_book import OrderBook
from exchange_clients.base.trading import Side
from perparb_core.models import MarketInfo

D = Decimal
KEY = "0x4fd0a42218f3eae43a6ce26d22544e986139a01e5b34a62db53757ffca81bae1"  # the V3 docs' demonstration key


def test_hmac_signature_of_the_v1_docs_example() -> None:
    payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
    secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
    assert hmac_hex(secret, payload) == "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
    signed = HmacSigner("k" * 20, secret, recv_window_ms=5000, clock_ms=lambda: 1591702613943).sign(
        [
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("quantity", "1"),
            ("price", "9000"),
            ("timeInForce", "GTC"),
        ]
    )
    assert (
        signed.payload
        == payload + "&signature=3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
    )
    assert signed.headers == {"X-MBX-APIKEY": "k" * 20}


def test_v3_signature_recovers_to_the_api_wallet_over_the_sorted_parameters() -> None:
    signer_address = Account.from_key(KEY).address.lower()
    nonces = NonceClock(clock_us=lambda: 1748310859508867)
    signer = WalletSigner("0x63dd5acc6b1aa0f563956c0e534dd30b6dcf7c4e", signer_address, KEY, nonces)
    signed = signer.sign(
        [("symbol", "ASTERUSDT"), ("type", "LIMIT"), ("side", "BUY"), ("quantity", "20"), ("price", "0.5")]
    )
    msg, signature = signed.payload.rsplit("&signature=", 1)
    assert [k for k, _ in parse_qsl(msg)] == [
        "nonce",
        "price",
        "quantity",
        "side",
        "signer",
        "symbol",
        "type",
        "user",
    ]
    assert dict(parse_qsl(msg))["nonce"] == "1748310859508867"
    assert eip712_recover(msg, signature) == signer_address and signed.headers == {}
    assert eip712_recover(msg + "&x=1", signature) != signer_address  # the signature covers the exact text
    assert nonces.next() == 1748310859508868  # strictly increasing within a microsecond


def test_credentials_two_schemes_and_errors_that_never_echo_values() -> None:
    v3 = AsterCredentials(user_address="0x" + "AB" * 20, signer_private_key=SecretStr(KEY[2:]))
    assert v3.scheme == "v3" and v3.public_fields() == {
        "user_address": "0x" + "ab" * 20,
        "signer_address": Account.from_key(KEY).address.lower(),
    }
    assert v3.secret_fields() == {"signer_private_key": KEY}
    v1 = AsterCredentials(api_key=SecretStr("A" * 64), api_secret=SecretStr("b" * 64))
    assert (v1.scheme, v1.public_fields(), v1.account_label.startswith("API key #")) == ("v1", {}, True)
    assert "A" * 8 not in v1.account_label and "A" * 64 not in repr(v1)
    bad_cases = [
        {"user_address": "0x" + "ab" * 20},
        {"api_key": "A" * 64},
        {
            "user_address": "0x" + "ab" * 20,
            "signer_private_key": KEY,
            "api_key": "A" * 64,
            "api_secret": "b" * 64,
        },
        {"user_address": "nope", "signer_private_key": KEY},
        {"user_address": "0x" + "ab" * 20, "signer_private_key": "zz" + KEY[4:]},
        {"user_address": "0x" + "ab" * 20, "signer_private_key": KEY, "signer_address": "0x" + "cd" * 20},
        {},
    ]
    for fields in bad_cases:
        with pytest.raises(ValidationError) as info:
            AsterCredentials(**fields)  # type: ignore[arg-type]
        assert KEY[6:] not in str(info.value) and "A" * 64 not in str(info.value)


def test_symbols_and_client_ids() -> None:
    assert [normalize_symbol(s) for s in ("BTCUSDT", "1000PEPEUSDT", "ETHUSDC", "XUSD1")] == [
        "BTC",
        "1000PEPE",
        "ETH",
        "X",
    ]
    assert venue_symbol_of("btc") == "BTCUSDT" and venue_symbol_of("ETHUSDT") == "ETHUSDT"
    with pytest.raises(ValueError):
        normalize_symbol("USDT")
    assert venue_client_id("281474976710655") == "281474976710655"
    for bad in ("", "x" * 37, "a b", "é"):
        with pytest.raises(AsterRejectedError, match="-4015"):
            venue_client_id(bad, "BTCUSDT")


def test_rounding_never_worsens_the_limit() -> None:
    m = AsterMarket("ETH", "ETHUSDT", D("0.01"), D("0.001"), D("0.001"), D(5), D(50), D(8), "active")
    assert m.round_price(D("3600.019"), Side.BUY) == D("3600.01")
    assert m.round_price(D("3600.011"), Side.SELL) == D("3600.02")
    assert m.round_size(D("0.12345")) == D("0.123")
    from exchange_clients.base.trading import RoundingError

    with pytest.raises(RoundingError):
        m.round_size(D("0.0009"))


def market(symbol: str = "BTCUSDT", interval: int = 8) -> MarketInfo:
    return MarketInfo(
        "aster", symbol, normalize_symbol(symbol), symbol, "USDT", funding_period_hours=D(interval)
    )


def test_parsers_reject_bad_rows_by_field_and_keep_the_rest() -> None:
    intervals, rej = parse_funding_info(
        [
            {"symbol": "A1USDT", "fundingIntervalHours": 4},
            {"symbol": "B1USDT", "fundingIntervalHours": "x"},
            {"symbol": "C1USDT", "fundingIntervalHours": 48},
            {"fundingIntervalHours": 8},
            "row",
        ]
    )
    assert intervals == {"A1USDT": 4}
    assert [(r.venue_symbol, r.field) for r in rej] == [
        ("B1USDT", "fundingIntervalHours"),
        ("C1USDT", "fundingIntervalHours"),
        (None, "symbol"),
        (None, "fundingInfo[]"),
    ]
    rows = [
        {"symbol": "BTCUSDT", "lastFundingRate": "", "time": 1, "markPrice": "1"},
        {"symbol": "BTCUSDT", "lastFundingRate": "0.0001", "time": 1, "markPrice": "0"},
        {"symbol": "BTCUSDT", "lastFundingRate": "0.0001", "time": None},
        {"symbol": "BTCUSDT", "lastFundingRate": "0.0001", "time": 1700000000000},
    ]
    result = parse_premium_index(rows, {"BTCUSDT": market()})
    assert [(r.field, r.reason) for r in result.rejections] == [
        ("lastFundingRate", "empty string"),
        ("markPrice", "zero"),
        ("time", "missing"),
    ]
    # a row with a bad mark keeps its rate (the mark is then unknown, never zero)
    assert [(s.rate_hourly, s.mark_price) for s in result.samples] == [
        (D("0.0000125"), None),
        (D("0.0000125"), None),
    ]
    page = parse_funding_history(
        [
            {"symbol": "BTCUSDT", "fundingTime": 1, "fundingRate": "nan"},
            {"symbol": "ETHUSDT", "fundingTime": 2, "fundingRate": "0"},
        ],
        market(),
    )
    assert page.samples == [] and [r.field for r in page.rejections] == ["fundingRate", "symbol"]
    info = parse_exchange_info(
        {
            "symbols": [
                {"symbol": "BTCUSDT", "filters": []},
                {"symbol": "ETHUSDT", "contractType": "CURRENT_QUARTER"},
            ]
        }
    )
    assert info.markets == [] and [r.field for r in info.rejections] == ["filters"]


def test_interval_from_settlement_spacing() -> None:
    assert [interval_of(h * 3_600_000 + 37, 8) for h in (1, 2, 4, 8)] == [1, 2, 4, 8]
    assert (
        interval_of(None, 4) == 4
        and interval_of(3 * 3_600_000, 8) == 8
        and interval_of(24 * 3_600_000, 1) == 1
    )


def event(U: int, u: int, pu: int, bids: list[list[str]] | None = None) -> dict[str, object]:
    return {"e": "depthUpdate", "s": "BTCUSDT", "U": U, "u": u, "pu": pu, "b": bids or [], "a": []}


def test_depth_sync_buffers_bridges_chains_and_resyncs() -> None:
    sync = DepthSync(OrderBook("BTCUSDT"))
    assert sync.on_event(event(90, 95, 89)) is True  # no snapshot yet: buffered, ask for one
    assert sync.on_event(event(96, 101, 95, [["100", "2"]])) is False  # buffered, snapshot already asked
    snapshot = {"lastUpdateId": 98, "bids": [["100", "1"], ["99", "1"]], "asks": [["101", "1"]]}
    assert sync.on_snapshot(snapshot) is False  # 95 < 98 dropped, 96 <= 98 <= 101 bridges
    assert sync.book.sequence == 101 and sync.book.best_bid() == (D(100), D(2))
    assert sync.on_event(event(102, 104, 101, [["99", "0"]])) is False  # pu == previous u
    assert sync.book.depth(5)[0] == [(D(100), D(2))]
    assert sync.on_event(event(110, 112, 108)) is True  # pu 108 != 104: a gap
    assert not sync.book.is_synced and sync.book.best_bid() is None and sync.book.gaps == 1
    assert sync.on_event(event(113, 115, 112)) is False  # buffered while the snapshot is fetched
    assert sync.on_snapshot({"lastUpdateId": 112, "bids": [["98", "1"]], "asks": []}) is False
    assert sync.book.sequence == 115 and sync.book.is_synced  # 113..115 continues 112
    stale = DepthSync(OrderBook("BTCUSDT"))
    stale.on_event(event(200, 210, 199))
    assert (
        stale.on_snapshot({"lastUpdateId": 150, "bids": [], "asks": []}) is True
    )  # snapshot older than the stream
    assert not stale.book.is_synced and stale.resyncs == 1
