"""Aster (asterdex) perpetual futures: funding adapter, trading client, WebSocket, accounts (see `spec.py`)."""
