"""Database scripts: `python -m database.scripts.<name>` (also `perparb accounts <name>`)."""
