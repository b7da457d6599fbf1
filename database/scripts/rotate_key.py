"""`python -m database.scripts.rotate_key`: same as `perparb accounts rotate-key` (see database/scripts/accounts_cli.py)."""

from database.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("rotate-key")
