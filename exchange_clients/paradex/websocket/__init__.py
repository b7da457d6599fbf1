"""Paradex WebSocket package: order books (and, with the trading client, connection and account streams)."""
