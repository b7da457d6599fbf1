"""Hyperliquid: the main perp dex ("hyperliquid") and builder-deployed HIP-3 dexes ("hyperliquid:<dex>")."""
