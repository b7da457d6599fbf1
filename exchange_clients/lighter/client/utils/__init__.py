"""Lighter client helpers: unit converters (pure) and caches (markets, auth token, client order indexes)."""
