"""`python -m perparb.scripts.add_account`: same as `perparb accounts add-account` (see perparb/scripts/accounts_cli.py)."""

from perparb.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("add-account")
