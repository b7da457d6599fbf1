"""Backpack read-only market and funding data: adapter, funding_client (public GETs), fetchers (parsers).

The adapter is imported on first use, so importing the parsers stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BackpackFundingAdapter"]


def __getattr__(name: str) -> Any:
    if name == "BackpackFundingAdapter":
        from exchange_clients.backpack.funding_adapter.adapter import BackpackFundingAdapter

        return BackpackFundingAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
