"""Venue name -> factories. Adding a venue = one package under `exchange_clients/` plus one line here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from exchange_clients.base.funding_adapter import BaseFundingAdapter

if TYPE_CHECKING:
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
