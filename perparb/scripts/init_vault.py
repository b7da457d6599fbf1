"""`python -m perparb.scripts.init_vault`: same as `perparb accounts init-vault` (see perparb/scripts/accounts_cli.py)."""

from perparb.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("init-vault")
