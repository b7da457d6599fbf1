"""`python -m database.scripts.list_accounts`: same as `perparb accounts list-accounts` (see database/scripts/accounts_cli.py)."""

from database.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("list-accounts")
