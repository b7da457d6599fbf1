"""Helpers of the Backpack client: signing (bpx-py), client ids, market cache, payload converters."""
