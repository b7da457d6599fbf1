"""The simulated Lighter venue: REST routes, WebSocket streams, auth, admin and trading on the engine."""
