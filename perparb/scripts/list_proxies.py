"""`python -m perparb.scripts.list_proxies`: same as `perparb accounts list-proxies` (see perparb/scripts/accounts_cli.py)."""

from perparb.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("list-proxies")
