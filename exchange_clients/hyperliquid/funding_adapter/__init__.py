"""Hyperliquid read-only market and funding data: adapter, funding_client (`POST /info`), fetchers (parsers).

The adapter is imported on first use, so importing the parsers stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HyperliquidFundingAdapter"]


def __getattr__(name: str) -> Any:
    if name == "HyperliquidFundingAdapter":
        from exchange_clients.hyperliquid.funding_adapter.adapter import HyperliquidFundingAdapter

        return HyperliquidFundingAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
