"""Backpack trading client. Build one with `create_backpack_client(credentials, config, scope)`."""

from __future__ import annotations

from typing import Any

from exchange_clients.backpack.config import BackpackConfig
from exchange_clients.backpack.credentials import BackpackCredentials
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.scope import VenueScope
from perparb_core.settings import VenueConfig


def create_backpack_client(
    credentials: BaseCredentials, config: VenueConfig, scope: VenueScope | None = None, **options: Any
) -> BaseExchangeClient:
    """A `BackpackClient` for `credentials` on `config` (not connected: call `connect()`).

    `options` are `BackpackClient` keyword arguments (markets, max_book_age_seconds, account_stream, ...).

    Raises:
        TypeError: credentials or config of another venue.
    """
    if not isinstance(credentials, BackpackCredentials):
        raise TypeError(f"backpack client needs BackpackCredentials, got {type(credentials).__name__}")
    if not isinstance(config, BackpackConfig):
        raise TypeError(f"backpack client needs a BackpackConfig, got {type(config).__name__}")
    from exchange_clients.backpack.client.client import BackpackClient

    return BackpackClient(credentials, config, scope=scope, **options)


__all__ = ["BackpackClient", "create_backpack_client"]


def __getattr__(name: str) -> Any:
    """`BackpackClient` on first use (importing it imports bpx-py)."""
    if name == "BackpackClient":
        from exchange_clients.backpack.client.client import BackpackClient

        return BackpackClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
