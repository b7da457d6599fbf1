"""Local Lighter- and Paradex-compatible venues (HTTP + WebSocket) serving scenario folders.

Public entry points live in `simulator.server` (`start_simulator`, `serve_forever`); see simulator/README.md.
"""
