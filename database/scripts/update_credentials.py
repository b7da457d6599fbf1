"""`python -m database.scripts.update_credentials`: same as `perparb accounts update-credentials` (see database/scripts/accounts_cli.py)."""

from database.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("update-credentials")
