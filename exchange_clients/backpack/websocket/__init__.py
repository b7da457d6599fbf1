"""Backpack WebSocket: public market-data stream (depth with sequence checks and REST resync, markPrice)."""
