"""`python -m database.scripts.init_vault`: same as `perparb accounts init-vault` (see database/scripts/accounts_cli.py)."""

from database.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("init-vault")
