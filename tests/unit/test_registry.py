"""The registry builds each venue's funding adapter and trading client from settings."""

from __future__ import annotations

import secrets

import pytest

from exchange_clients.base.credentials import LighterCredentials, ParadexCredentials
from exchange_clients.registry import create_client, create_funding_adapter
from perparb.settings import Settings


async def test_factories() -> None:
    settings = Settings(_env_file=None, lighter_url="http://127.0.0.1:9", paradex_url="http://127.0.0.1:9/v1")
    lighter_creds = LighterCredentials(account_index=1, api_key_index=3, api_private_key="0x" + "ab" * 40)
    paradex_creds = ParadexCredentials(
        l1_address="0x" + secrets.token_hex(20), l1_private_key="0x" + "11" * 32
    )
    for venue, creds in (("lighter", lighter_creds), ("paradex", paradex_creds)):
        client = create_client(venue, creds, settings)
        assert client.get_exchange_name() == venue
        adapter = create_funding_adapter(venue, settings)
        assert adapter.venue == venue
        await adapter.close()
    with pytest.raises(TypeError, match="lighter credentials given for venue 'paradex'"):
        create_client("paradex", lighter_creds, settings)
    with pytest.raises(KeyError, match="unknown venue 'binance'"):
        create_funding_adapter("binance", settings)


def test_websocket_urls_come_from_settings() -> None:
    lighter_creds = LighterCredentials(account_index=1, api_key_index=3, api_private_key="0x" + "ab" * 40)
    derived = Settings(_env_file=None, lighter_url="https://mainnet.zklighter.elliot.ai")
    assert (
        create_client("lighter", lighter_creds, derived).ws_url == "wss://mainnet.zklighter.elliot.ai/stream"
    )  # type: ignore[attr-defined]
    explicit = Settings(_env_file=None, lighter_ws_url="ws://127.0.0.1:1/stream")
    assert create_client("lighter", lighter_creds, explicit).ws_url == "ws://127.0.0.1:1/stream"  # type: ignore[attr-defined]
    p_creds = ParadexCredentials(l1_address="0x" + "12" * 20, l1_private_key="0x" + "11" * 32)
    prod = Settings(_env_file=None)
    assert create_client("paradex", p_creds, prod).ws_url == "wss://ws.api.prod.paradex.trade/v1"  # type: ignore[attr-defined]
    custom = Settings(_env_file=None, paradex_ws_url="ws://127.0.0.1:2/v1")
    assert create_client("paradex", p_creds, custom).ws_url == "ws://127.0.0.1:2/v1"  # type: ignore[attr-defined]
