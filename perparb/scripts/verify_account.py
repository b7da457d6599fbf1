"""`python -m perparb.scripts.verify_account`: same as `perparb accounts verify-account` (see perparb/scripts/accounts_cli.py)."""

from perparb.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("verify-account")
