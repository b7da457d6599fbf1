"""`python -m perparb.scripts.remove_proxy`: same as `perparb accounts remove-proxy` (see perparb/scripts/accounts_cli.py)."""

from perparb.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("remove-proxy")
