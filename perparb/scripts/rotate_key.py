"""`python -m perparb.scripts.rotate_key`: same as `perparb accounts rotate-key` (see perparb/scripts/accounts_cli.py)."""

from perparb.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("rotate-key")
