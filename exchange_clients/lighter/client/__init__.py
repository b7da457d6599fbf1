"""Lighter trading client (lighter-sdk): `create_lighter_client(credentials, settings)`."""

from __future__ import annotations

from typing import Any

from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import LighterCredentials
from exchange_clients.lighter.client.client import LighterClient
from perparb.settings import Settings


def create_lighter_client(
    credentials: LighterCredentials, settings: Settings, **options: Any
) -> BaseExchangeClient:
    """A `LighterClient` for `credentials` against `settings.lighter_url` (not connected: call `connect()`).

    `options` are `LighterClient` keyword arguments (markets, max_book_age_seconds, rate_per_second, ...).

    Raises:
        TypeError: `credentials` are not Lighter credentials.
    """
    if not isinstance(credentials, LighterCredentials):
        raise TypeError(f"lighter client needs LighterCredentials, got {type(credentials).__name__}")
    return LighterClient(credentials, settings, **options)


__all__ = ["LighterClient", "create_lighter_client"]
