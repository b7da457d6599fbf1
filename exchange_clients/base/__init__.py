"""Venue-neutral base layer: models, units, errors, adapter contracts."""
