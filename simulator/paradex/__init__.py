"""The simulated Paradex venue: REST routes, WebSocket streams, auth, admin and trading on the engine."""
