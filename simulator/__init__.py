"""Local venue-compatible servers (HTTP + WebSocket) serving scenario folders, with a venue-neutral trading engine.

`simulator/engine/` is the engine (matching, margin, funding); each `simulator/<venue>/` package speaks one venue's
protocol on top of it and registers itself with a `PROTOCOL` object (`simulator.protocol`). Public entry points live
in `simulator.server` (`start_simulator`, `serve_forever`); see simulator/README.md.
"""
