"""Aster read-only market and funding data: adapter, funding_client (public REST), fetchers (parsers).

The adapter is imported on first use, so importing the parsers stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AsterFundingAdapter"]


def __getattr__(name: str) -> Any:
    if name == "AsterFundingAdapter":
        from exchange_clients.aster.funding_adapter.adapter import AsterFundingAdapter

        return AsterFundingAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
