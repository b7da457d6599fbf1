"""Lighter trading client (lighter-sdk): `create_lighter_client(credentials, config, scope)`."""

from __future__ import annotations

from typing import Any

from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.scope import VenueScope
from exchange_clients.lighter.config import LighterConfig
from exchange_clients.lighter.credentials import LighterCredentials
from perparb_core.settings import VenueConfig


def create_lighter_client(
    credentials: BaseCredentials, config: VenueConfig, scope: VenueScope | None = None, **options: Any
) -> BaseExchangeClient:
    """A `LighterClient` for `credentials` against `config.rest_url` (not connected: call `connect()`).

    `options` are `LighterClient` keyword arguments (markets, max_book_age_seconds, ack_timeout_seconds, ...).

    Raises:
        TypeError: `credentials` are not Lighter credentials, or `config` is not a `LighterConfig`.
    """
    if not isinstance(credentials, LighterCredentials):
        raise TypeError(f"lighter client needs LighterCredentials, got {type(credentials).__name__}")
    if not isinstance(config, LighterConfig):
        raise TypeError(f"lighter client needs a LighterConfig, got {type(config).__name__}")
    from exchange_clients.lighter.client.client import LighterClient

    return LighterClient(credentials, config, scope=scope, **options)


__all__ = ["LighterClient", "create_lighter_client"]


def __getattr__(name: str) -> Any:
    """`LighterClient` on first use (importing it imports the SDK)."""
    if name == "LighterClient":
        from exchange_clients.lighter.client.client import LighterClient

        return LighterClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
