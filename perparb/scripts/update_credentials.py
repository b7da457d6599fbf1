"""`python -m perparb.scripts.update_credentials`: same as `perparb accounts update-credentials` (see perparb/scripts/accounts_cli.py)."""

from perparb.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("update-credentials")
