"""perparb's core layer: errors under one root, the units table, the venue-neutral models and the settings
types. It imports nothing of this project; every other package may import it (see docs/architecture.md)."""
