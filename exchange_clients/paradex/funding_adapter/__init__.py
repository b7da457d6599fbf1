"""Paradex read-only market and funding data: adapter, funding_client (REST), fetchers (parsers).

The adapter (and with it paradex-py) is imported on first use, so importing the parsers stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ParadexFundingAdapter"]


def __getattr__(name: str) -> Any:
    if name == "ParadexFundingAdapter":
        from exchange_clients.paradex.funding_adapter.adapter import ParadexFundingAdapter

        return ParadexFundingAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
