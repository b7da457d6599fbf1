"""`python -m perparb.scripts.add_proxy`: same as `perparb accounts add-proxy` (see perparb/scripts/accounts_cli.py)."""

from perparb.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("add-proxy")
