"""Paradex read-only market and funding data: adapter, funding_client (REST), fetchers (parsers)."""

from exchange_clients.paradex.funding_adapter.adapter import ParadexFundingAdapter

__all__ = ["ParadexFundingAdapter"]
