"""Lighter funding adapter: read-only market and funding data.

`adapter.LighterFundingAdapter` (`BaseFundingAdapter`), `funding_client.LighterFundingClient`
(raw JSON through lighter-sdk) and `fetchers` (one pure parser per payload).
"""

from exchange_clients.lighter.funding_adapter.adapter import LighterFundingAdapter

__all__ = ["LighterFundingAdapter"]
