"""Hyperliquid WebSocket: market-data stream (`manager`) and `l2Book` frames -> order books (`order_book`)."""
