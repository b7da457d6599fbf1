"""Hyperliquid client utilities: the price rule and size rounding (hypothesis), the cloid mapping of client
order ids, order wire / action construction, and the SDK's signing test vectors reproduced through this
project's code path (`client/utils/signing.py`)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_clients.base.trading import RoundingError, Side, TimeInForce, significant_price_step
from exchange_clients.hyperliquid.client.managers.market_data import perp_dex_index
from exchange_clients.hyperliquid.client.utils.caching import HyperliquidMarket, dex_asset_offset
from exchange_clients.hyperliquid.client.utils.helpers import belongs_to_dex
from exchange_clients.hyperliquid.client.utils.signing import (
    ActionSigner,
    ClientOrderIds,
    NonceClock,
    SigningError,
    cancel_action,
    cancel_by_cloid_action,
    client_order_id_of,
    cloid_for,
    connection_id,
    decimal_wire,
    order_action,
    order_wire,
    update_leverage_action,
)
from strategies.state import client_order_id

D = Decimal
SDK_TEST_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"


def market(sz_decimals: int) -> HyperliquidMarket:
    return HyperliquidMarket("X", "X", 0, sz_decimals, D(50), "active")


def on_grid(px: Decimal, sz_decimals: int) -> bool:
    px = px.normalize()
    exp = px.as_tuple().exponent
    assert isinstance(exp, int)
    integer = px == px.to_integral_value()
    return max(-exp, 0) <= 6 - sz_decimals and (integer or len(px.as_tuple().digits) <= 5)


# ------------------------------------------------------------------------------------------- price rule


@pytest.mark.parametrize(
    ("px", "sz", "side", "want"),
    [
        ("1234.56", 2, Side.BUY, "1234.5"),  # docs: 1234.5 valid, 1234.56 not (5 figures)
        ("1234.56", 2, Side.SELL, "1234.6"),
        ("0.0012345", 0, Side.BUY, "0.001234"),  # docs: more than 6 decimals
        ("0.012345", 1, Side.SELL, "0.01235"),  # docs: szDecimals 1 -> at most 5 decimals
        ("123456.7", 5, Side.BUY, "123456"),  # integers are always valid
        ("99999.5", 5, Side.SELL, "100000"),
        ("84143.4", 5, Side.SELL, "84144"),
    ],
)
def test_documented_price_examples(px: str, sz: int, side: Side, want: str) -> None:
    assert market(sz).round_price(D(px), side) == D(want)


@settings(max_examples=400, deadline=None)
@given(
    price=st.decimals(min_value=D("0.000001"), max_value=D("5000000"), places=8, allow_nan=False),
    sz_decimals=st.integers(min_value=0, max_value=5),
    side=st.sampled_from([Side.BUY, Side.SELL]),
)
def test_price_rounding_properties(price: Decimal, sz_decimals: int, side: Side) -> None:
    m = market(sz_decimals)
    try:
        rounded = m.round_price(price, side)
    except RoundingError:
        # only a BUY below the smallest valid price of the grid can round to nothing
        assert side is Side.BUY and price < D(1).scaleb(-(6 - sz_decimals))
        return
    assert on_grid(rounded, sz_decimals)  # valid on the venue
    assert (rounded <= price) if side is Side.BUY else (rounded >= price)  # never worse for the user
    step = significant_price_step(rounded, significant_figures=5, max_decimals=6 - sz_decimals)
    assert abs(rounded - price) < max(
        step, significant_price_step(price, significant_figures=5, max_decimals=6 - sz_decimals)
    )
    assert m.round_price(rounded, side) == rounded  # idempotent


@settings(max_examples=300, deadline=None)
@given(
    qty=st.decimals(min_value=D("0.000001"), max_value=D("1000000"), places=8, allow_nan=False),
    sz_decimals=st.integers(min_value=0, max_value=5),
)
def test_size_rounds_down_to_sz_decimals(qty: Decimal, sz_decimals: int) -> None:
    m = market(sz_decimals)
    try:
        size = m.round_size(qty)
    except RoundingError:
        assert qty < m.size_step
        return
    assert size <= qty and qty - size < m.size_step and size == size.quantize(m.size_step)


# ------------------------------------------------------------------------------------------- cloids


@settings(max_examples=300)
@given(run=st.integers(min_value=1, max_value=2**24 - 1), seq=st.integers(min_value=1, max_value=2**23 - 1))
def test_perparb_ids_map_to_cloids_and_back(run: int, seq: int) -> None:
    cid = client_order_id(run, seq)
    cloid = cloid_for(cid)
    assert len(cloid) == 34 and cloid.startswith("0x") and int(cloid, 16) == int(cid)
    assert client_order_id_of(cloid) == cid  # reversible without any memory: survives a restart


def test_cloid_edge_cases() -> None:
    assert cloid_for("1") == "0x00000000000000000000000000000001"
    assert cloid_for(str(2**48 - 1)) == "0x" + "0" * 20 + "f" * 12  # 16 bytes, big-endian
    ids = ClientOrderIds()
    hashed = ids.cloid("arb-42-long")
    assert hashed.startswith("0x01") and len(hashed) == 34 and hashed == cloid_for("arb-42-long")  # stable
    assert ids.client_order_id(hashed) == "arb-42-long"
    assert ClientOrderIds().client_order_id(hashed) == hashed  # unknown after a restart: the cloid itself
    assert cloid_for(str(2**48)).startswith("0x01") and cloid_for("007").startswith("0x01")  # not perparb ids
    other = "0xe8d5fd7ebbb4c3cff4d1803472a11463"  # an order placed elsewhere (recorded fill)
    assert cloid_for(other.upper().replace("0X", "0x")) == other and client_order_id_of(other) == other
    assert client_order_id_of(None) is None
    with pytest.raises(SigningError):
        cloid_for("  ")


def test_nonces_increase_strictly() -> None:
    clock = iter([1000, 1000, 999, 2000])
    nonces = NonceClock(lambda: next(clock))
    assert [nonces.next() for _ in range(4)] == [1000, 1001, 1002, 2000]


# ------------------------------------------------------------------------------------------- wires and actions


def test_order_wire_and_action_shapes() -> None:
    wire = order_wire(
        5,
        is_buy=False,
        price=D("1670.10"),
        size=D("0.0147"),
        reduce_only=True,
        tif=TimeInForce.POST_ONLY,
        cloid=cloid_for("9"),
    )
    assert list(wire) == ["a", "b", "p", "s", "r", "t", "c"]  # msgpack hashes in this order
    assert wire == {
        "a": 5,
        "b": False,
        "p": "1670.1",
        "s": "0.0147",
        "r": True,
        "t": {"limit": {"tif": "Alo"}},
        "c": "0x00000000000000000000000000000009",
    }
    ioc = order_wire(
        1, is_buy=True, price=D("100"), size=D("2"), reduce_only=False, tif=TimeInForce.IOC, cloid=None
    )
    assert "c" not in ioc and ioc["t"] == {"limit": {"tif": "Ioc"}} and ioc["p"] == "100"
    assert order_action([ioc]) == {"type": "order", "orders": [ioc], "grouping": "na"}
    assert list(cancel_action([(3, 77)])["cancels"][0]) == ["a", "o"]
    assert cancel_by_cloid_action([(3, "0x01")]) == {
        "type": "cancelByCloid",
        "cancels": [{"asset": 3, "cloid": "0x01"}],
    }
    assert list(update_leverage_action(110000, 5, is_cross=True)) == ["type", "asset", "isCross", "leverage"]
    with pytest.raises(SigningError):
        order_wire(
            1,
            is_buy=True,
            price=D("0.000000001"),
            size=D(1),
            reduce_only=False,
            tif=TimeInForce.GTC,
            cloid=None,
        )
    with pytest.raises(SigningError):
        order_wire(
            1, is_buy=True, price=D("-1"), size=D(1), reduce_only=False, tif=TimeInForce.GTC, cloid=None
        )
    assert decimal_wire(D("1670.100")) == "1670.1" and decimal_wire(D("1E+2")) == "100"


# ------------------------------------------------------------------------------------------- SDK test vectors


def test_phantom_agent_vector() -> None:
    """SDK tests/signing_test.py `test_phantom_agent_creation_matches_production`: ETH IOC buy 0.0147 @ 1670.1,
    asset 4, nonce 1677777606040."""
    wire = order_wire(
        4,
        is_buy=True,
        price=D("1670.1"),
        size=D("0.0147"),
        reduce_only=False,
        tif=TimeInForce.IOC,
        cloid=None,
    )
    assert (
        connection_id(order_action([wire]), 1677777606040, is_mainnet=True)
        == "0x0fcbeda5ae3c4950a548021552a4fea2226858c4453571bf3f24ba017eac2908"
    )


def test_l1_action_vector() -> None:
    """`test_l1_action_signing_matches`: action {"type":"dummy","num":100000000000}, nonce 0."""
    action = {"type": "dummy", "num": 100000000000}
    main = ActionSigner(SDK_TEST_KEY, is_mainnet=True).sign(action, 0)
    test = ActionSigner(SDK_TEST_KEY, is_mainnet=False).sign(action, 0)
    assert main == {
        "r": "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298",
        "s": "0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8",
        "v": 27,
    }
    assert test == {
        "r": "0x542af61ef1f429707e3c76c5293c80d01f74ef853e34b76efffcb57e574f9510",
        "s": "0x17b8b32f086e8cdede991f1e2c529f5dd5297cbe8128500e00cbaf766204a613",
        "v": 28,
    }


@pytest.mark.parametrize(
    ("client_id", "mainnet", "testnet"),
    [
        (
            None,
            (
                "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e",
                "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e",
                28,
            ),
            (
                "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54",
                "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5",
                27,
            ),
        ),
        (
            "1",  # perparb's id "1" -> cloid 0x...01, the SDK's Cloid.from_str("0x00000000000000000000000000000001")
            (
                "0x41ae18e8239a56cacbc5dad94d45d0b747e5da11ad564077fcac71277a946e3",
                "0x3c61f667e747404fe7eea8f90ab0e76cc12ce60270438b2058324681a00116da",
                27,
            ),
            (
                "0xeba0664bed2676fc4e5a743bf89e5c7501aa6d870bdb9446e122c9466c5cd16d",
                "0x7f3e74825c9114bc59086f1eebea2928c190fdfbfde144827cb02b85bbe90988",
                28,
            ),
        ),
    ],
)
def test_order_signing_vectors(
    client_id: str | None, mainnet: tuple[str, str, int], testnet: tuple[str, str, int]
) -> None:
    """`test_l1_action_signing_order_matches` / `_with_cloid_matches`: ETH GTC buy 100 @ 100, asset 1, nonce 0."""
    wire = order_wire(
        1,
        is_buy=True,
        price=D(100),
        size=D(100),
        reduce_only=False,
        tif=TimeInForce.GTC,
        cloid=cloid_for(client_id) if client_id else None,
    )
    action = order_action([wire])
    for is_mainnet, (r, s, v) in ((True, mainnet), (False, testnet)):
        signer = ActionSigner(SDK_TEST_KEY, is_mainnet=is_mainnet)
        payload = signer.payload(action, 0)
        assert payload["signature"] == {"r": r, "s": s, "v": v}
        assert list(payload) == ["action", "nonce", "signature", "vaultAddress", "expiresAfter"]
        assert payload["vaultAddress"] is None and payload["expiresAfter"] is None
    assert SDK_TEST_KEY[2:] not in repr(ActionSigner(SDK_TEST_KEY, is_mainnet=True))


def test_vault_signing_vector() -> None:
    """`test_l1_action_signing_matches_with_vault`."""
    signer = ActionSigner(
        SDK_TEST_KEY, is_mainnet=True, vault_address="0x1719884eb866cb12b2287399b15f7db5e7d775ea"
    )
    assert signer.sign({"type": "dummy", "num": 100000000000}, 0)["r"] == (
        "0x3c548db75e479f8012acf3000ca3a6b05606bc2ec0c29c50c515066a326239"
    )


# ------------------------------------------------------------------------------------------- dexes


def test_hip3_asset_offsets_and_coin_filter() -> None:
    listing = [None, {"name": "test"}, {"name": "xyz"}]
    assert perp_dex_index(listing, "", venue="hyperliquid") == 0
    assert (
        dex_asset_offset(perp_dex_index(listing, "test", venue="hyperliquid:test")) == 110000
    )  # docs example
    assert dex_asset_offset(perp_dex_index(listing, "xyz", venue="hyperliquid:xyz")) == 120000
    with pytest.raises(Exception, match="not listed"):
        perp_dex_index(listing, "flx", venue="hyperliquid:flx")
    assert belongs_to_dex("BTC", "") and not belongs_to_dex("xyz:TSLA", "") and not belongs_to_dex("@107", "")
    assert (
        not belongs_to_dex("PURR/USDC", "")
        and belongs_to_dex("xyz:TSLA", "xyz")
        and not belongs_to_dex("BTC", "xyz")
    )
