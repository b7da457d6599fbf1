"""Lighter funding adapter: read-only market and funding data.

`adapter.LighterFundingAdapter` (`BaseFundingAdapter`), `funding_client.LighterFundingClient` (the public endpoints
on the venue's one HTTP stack) and `fetchers` (one pure parser per payload). The adapter (and with it the SDK) is
imported on first use, so importing the parsers stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LighterFundingAdapter"]


def __getattr__(name: str) -> Any:
    if name == "LighterFundingAdapter":
        from exchange_clients.lighter.funding_adapter.adapter import LighterFundingAdapter

        return LighterFundingAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
