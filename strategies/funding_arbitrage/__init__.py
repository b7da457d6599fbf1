"""Delta-neutral funding arbitrage."""
