"""Database scripts: `python -m perparb.scripts.<name>` (also `perparb accounts <name>`)."""
