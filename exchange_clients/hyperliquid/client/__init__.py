"""Hyperliquid trading client. Build one with `create_hyperliquid_client(credentials, config, scope)`."""

from __future__ import annotations

from typing import Any

from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.scope import VenueScope
from exchange_clients.hyperliquid.config import HyperliquidConfig
from exchange_clients.hyperliquid.credentials import HyperliquidCredentials
from perparb_core.settings import VenueConfig


def create_hyperliquid_client(
    credentials: BaseCredentials, config: VenueConfig, scope: VenueScope | None = None, **options: Any
) -> BaseExchangeClient:
    """A `HyperliquidClient` for `credentials` on `config`'s perp dex (not connected: call `connect()`).

    `options` are `HyperliquidClient` keyword arguments (markets, max_book_age_seconds, account_stream, ...).

    Raises:
        TypeError: credentials or config of another venue, or of another dex.
    """
    if not isinstance(credentials, HyperliquidCredentials):
        raise TypeError(f"hyperliquid client needs HyperliquidCredentials, got {type(credentials).__name__}")
    if not isinstance(config, HyperliquidConfig):
        raise TypeError(f"hyperliquid client needs a HyperliquidConfig, got {type(config).__name__}")
    if credentials.venue != config.venue:
        raise TypeError(f"{credentials.venue} credentials given for venue {config.venue!r}")
    from exchange_clients.hyperliquid.client.client import HyperliquidClient

    return HyperliquidClient(credentials, config, scope=scope, **options)


__all__ = ["HyperliquidClient", "create_hyperliquid_client"]


def __getattr__(name: str) -> Any:
    """`HyperliquidClient` on first use (importing it imports the SDK)."""
    if name == "HyperliquidClient":
        from exchange_clients.hyperliquid.client.client import HyperliquidClient

        return HyperliquidClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
