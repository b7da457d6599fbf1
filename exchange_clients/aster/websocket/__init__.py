"""Aster WebSocket market data: diff depth with the venue's sequence rules, mark price and funding."""
