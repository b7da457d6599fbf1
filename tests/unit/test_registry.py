"""The registry discovers the installed venues and builds each one's funding adapter and trading client from its
typed config."""

from __future__ import annotations

import secrets

import pytest

from exchange_clients import registry
from exchange_clients.lighter.credentials import LighterCredentials
from exchange_clients.paradex.credentials import ParadexCredentials
from exchange_clients.registry import UnknownVenueError, create_client, create_funding_adapter
from tests.configs import venue_config


def test_installed_venues_are_discovered() -> None:
    assert {"lighter", "paradex"} <= set(registry.venue_names())
    for name, spec in registry.venue_specs().items():
        assert spec.name == name
        assert spec.config_type().venue == name  # each config class defaults to its own venue
        assert spec.credentials_type.model_fields["venue"].default == name


async def test_factories() -> None:
    lighter_creds = LighterCredentials(account_index=1, api_key_index=3, api_private_key="0x" + "ab" * 40)
    paradex_creds = ParadexCredentials(
        l1_address="0x" + secrets.token_hex(20), l1_private_key="0x" + "11" * 32
    )
    urls = {"lighter": "http://127.0.0.1:9", "paradex": "http://127.0.0.1:9/v1"}
    for venue, creds in (("lighter", lighter_creds), ("paradex", paradex_creds)):
        config = venue_config(venue, urls[venue])
        client = create_client(creds, config)
        assert client.get_exchange_name() == venue
        adapter = create_funding_adapter(config)
        assert adapter.venue == venue
        await adapter.close()
    with pytest.raises(TypeError, match="lighter credentials given for venue 'paradex'"):
        create_client(lighter_creds, venue_config("paradex", urls["paradex"]))
    with pytest.raises(UnknownVenueError, match="unknown venue 'binance'"):
        registry.get_spec("binance")
    with pytest.raises(UnknownVenueError, match="unknown venue 'binance'"):
        registry.default_config("binance")


def test_websocket_urls_come_from_the_config() -> None:
    lighter_creds = LighterCredentials(account_index=1, api_key_index=3, api_private_key="0x" + "ab" * 40)
    derived = venue_config("lighter", "https://mainnet.zklighter.elliot.ai")
    assert create_client(lighter_creds, derived).ws_url == "wss://mainnet.zklighter.elliot.ai/stream"  # type: ignore[attr-defined]
    explicit = venue_config("lighter", ws_url="ws://127.0.0.1:1/stream")
    assert create_client(lighter_creds, explicit).ws_url == "ws://127.0.0.1:1/stream"  # type: ignore[attr-defined]
    p_creds = ParadexCredentials(l1_address="0x" + "12" * 20, l1_private_key="0x" + "11" * 32)
    prod = venue_config("paradex")
    assert create_client(p_creds, prod).ws_url == "wss://ws.api.prod.paradex.trade/v1"  # type: ignore[attr-defined]
    custom = venue_config("paradex", ws_url="ws://127.0.0.1:2/v1")
    assert create_client(p_creds, custom).ws_url == "ws://127.0.0.1:2/v1"  # type: ignore[attr-defined]
