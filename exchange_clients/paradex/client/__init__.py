"""Paradex trading client (paradex-py). Build one with `create_paradex_client(credentials, settings)`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import ParadexCredentials
from exchange_clients.paradex.client.client import ParadexClient

if TYPE_CHECKING:
    from perparb.settings import Settings


def create_paradex_client(
    credentials: ParadexCredentials, settings: Settings, **options: Any
) -> BaseExchangeClient:
    """A `ParadexClient` for `credentials` against `settings.paradex_url` (not connected yet).

    `options` are `ParadexClient` keyword arguments (markets, max_book_age_seconds, account_stream, ws_url).

    Raises:
        TypeError: credentials of another venue.
    """
    if not isinstance(credentials, ParadexCredentials):
        raise TypeError(f"paradex client needs ParadexCredentials, got {type(credentials).__name__}")
    return ParadexClient(credentials, settings, **options)


__all__ = ["ParadexClient", "create_paradex_client"]
