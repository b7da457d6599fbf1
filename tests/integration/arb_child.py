"""Child process for the crash test: runs a strategy config on an account through `strategies.runner` until
killed. Environment: DATABASE_URL, PERPARB_MASTER_KEY, PERPARB_<VENUE>_URL of the simulated venues.

    python -m tests.integration.arb_child CONFIG.yaml ACCOUNT
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from database.session import create_engine
from database.vault import Vault, decode_key
from perparb.settings import Settings
from strategies.config import load_config
from strategies.runner import RunOptions, run_strategy


async def main(config_path: str, account: str) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]  # the child's env points at the simulator
    assert settings.database_url is not None
    engine = create_engine(settings.database_url)
    vault = Vault.from_key(decode_key(os.environ["PERPARB_MASTER_KEY"], source="PERPARB_MASTER_KEY"))
    await run_strategy(
        load_config(Path(config_path)),
        account,
        engine=engine,
        vault=vault,
        settings=settings.trading_config(),
        options=RunOptions(interval_seconds=0.3),
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
