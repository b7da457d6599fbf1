"""Paradex trading client (paradex-py). Build one with `create_paradex_client(credentials, config, scope)`."""

from __future__ import annotations

from typing import Any

from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.scope import VenueScope
from exchange_clients.paradex.credentials import ParadexCredentials
from perparb_core.settings import VenueConfig


def create_paradex_client(
    credentials: BaseCredentials, config: VenueConfig, scope: VenueScope | None = None, **options: Any
) -> BaseExchangeClient:
    """A `ParadexClient` for `credentials` against `config.rest_url` (not connected yet).

    `options` are `ParadexClient` keyword arguments (markets, max_book_age_seconds, account_stream, ws_url).

    Raises:
        TypeError: credentials of another venue.
    """
    if not isinstance(credentials, ParadexCredentials):
        raise TypeError(f"paradex client needs ParadexCredentials, got {type(credentials).__name__}")
    from exchange_clients.paradex.client.client import ParadexClient

    return ParadexClient(credentials, config, scope, **options)


__all__ = ["ParadexClient", "create_paradex_client"]


def __getattr__(name: str) -> Any:
    """`ParadexClient` on first use (importing it imports the SDK)."""
    if name == "ParadexClient":
        from exchange_clients.paradex.client.client import ParadexClient

        return ParadexClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
