"""perparb package."""
