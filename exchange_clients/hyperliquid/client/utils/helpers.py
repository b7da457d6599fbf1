"""Small helpers of the Hyperliquid client."""

from __future__ import annotations


def belongs_to_dex(coin: str, dex: str) -> bool:
    """True when `coin` is a perp of perp dex `dex`: on a HIP-3 dex its name is "<dex>:<COIN>"; on the first perp
    dex it has no ":" and is not a spot pair ("@107", "PURR/USDC"; docs info-endpoint.md "Perpetuals vs Spot").
    Account-wide answers (`userFills`, `userFunding`) mix every dex and spot: a client keeps its own dex's."""
    if dex:
        return coin.startswith(f"{dex}:")
    return ":" not in coin and not coin.startswith("@") and "/" not in coin
