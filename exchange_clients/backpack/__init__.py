"""Backpack Exchange: funding adapter, trading client (bpx-py signing over aiohttp), WebSocket, accounts."""
