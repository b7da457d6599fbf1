"""Venue name -> factories. Adding a venue = one package under `exchange_clients/` plus one line here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from exchange_clients.base.funding_adapter import BaseFundingAdapter

if TYPE_CHECKING:
    from exchange_clients.base.client import BaseExchangeClient
    from exchange_clients.base.credentials import VenueCredentials
    from perparb.settings import Settings


def _lighter(settings: Settings) -> BaseFundingAdapter:
    from exchange_clients.lighter.funding_adapter import LighterFundingAdapter

    return LighterFundingAdapter(settings)


def _paradex(settings: Settings) -> BaseFundingAdapter:
    from exchange_clients.paradex.funding_adapter import ParadexFundingAdapter

    return ParadexFundingAdapter(settings)


FUNDING_ADAPTERS: dict[str, Callable[[Settings], BaseFundingAdapter]] = {
    "lighter": _lighter,
    "paradex": _paradex,
}


def create_funding_adapter(venue: str, settings: Settings) -> BaseFundingAdapter:
    """Build the funding adapter of `venue` with base URLs and timeouts from `settings`.

    Raises:
        KeyError: for an unknown venue, naming it and the known ones.
    """
    try:
        factory = FUNDING_ADAPTERS[venue]
    except KeyError:
        raise KeyError(f"unknown venue {venue!r}; known: {sorted(FUNDING_ADAPTERS)}") from None
    return factory(settings)


def create_client(
    venue: str, credentials: VenueCredentials, settings: Settings, **options: object
) -> BaseExchangeClient:
    """The trading client of `venue` for `credentials`; REST and WebSocket URLs come from `settings`, so the same
    code runs against mainnet, testnet or the simulator.

    Raises:
        KeyError: unknown venue. TypeError: credentials of another venue.
    """
    if credentials.venue != venue:
        raise TypeError(f"{credentials.venue} credentials given for venue {venue!r}")
    if venue == "lighter":
        from exchange_clients.lighter.client import create_lighter_client

        return create_lighter_client(credentials, settings, **options)  # type: ignore[arg-type]
    if venue == "paradex":
        from exchange_clients.paradex.client import create_paradex_client

        return create_paradex_client(credentials, settings, **options)  # type: ignore[arg-type]
    raise KeyError(f"unknown venue {venue!r}; known: {sorted(FUNDING_ADAPTERS)}")
