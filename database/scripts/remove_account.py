"""`python -m database.scripts.remove_account`: same as `perparb accounts remove-account` (see database/scripts/accounts_cli.py)."""

from database.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("remove-account")
