"""The managers the Backpack client core delegates to (market data, orders, positions, account)."""
