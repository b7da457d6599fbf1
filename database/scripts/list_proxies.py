"""`python -m database.scripts.list_proxies`: same as `perparb accounts list-proxies` (see database/scripts/accounts_cli.py)."""

from database.scripts.accounts_cli import run_command

if __name__ == "__main__":
    run_command("list-proxies")
