"""Aster trading client. Build one with `create_aster_client(credentials, config, scope)`."""

from __future__ import annotations

from typing import Any

from exchange_clients.aster.config import AsterConfig
from exchange_clients.aster.credentials import AsterCredentials
from exchange_clients.base.client import BaseExchangeClient
from exchange_clients.base.credentials import BaseCredentials
from exchange_clients.base.scope import VenueScope
from perparb_core.settings import VenueConfig


def create_aster_client(
    credentials: BaseCredentials, config: VenueConfig, scope: VenueScope | None = None, **options: Any
) -> BaseExchangeClient:
    """An `AsterClient` for `credentials` on `config` (not connected: call `connect()`).

    `options` are `AsterClient` keyword arguments (markets, max_book_age_seconds, account_stream, ...).

    Raises:
        TypeError: credentials or config of another venue.
    """
    if not isinstance(credentials, AsterCredentials):
        raise TypeError(f"aster client needs AsterCredentials, got {type(credentials).__name__}")
    if not isinstance(config, AsterConfig):
        raise TypeError(f"aster client needs an AsterConfig, got {type(config).__name__}")
    from exchange_clients.aster.client.client import AsterClient

    return AsterClient(credentials, config, scope=scope, **options)


__all__ = ["AsterClient", "create_aster_client"]


def __getattr__(name: str) -> Any:
    if name == "AsterClient":
        from exchange_clients.aster.client.client import AsterClient

        return AsterClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
