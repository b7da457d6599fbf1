"""Lighter client managers: market data, orders, positions, account. The core client delegates to them."""
