"""`perparb collect --once --json` and `perparb backfill --venue hyperliquid` through the real HTTP stack, against a
local aiohttp server that serves the RECORDED Hyperliquid payloads (only the internet is mocked), into the real
embedded PostgreSQL; the main dex and a HIP-3 dex (`PERPARB_HYPERLIQUID_DEXES=xyz`) are collected as two venues.
The CLI runs in a subprocess (the sub-venue it enables from its settings stays in that process)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import PROJECT
from tests.shared_data import load_payload

pytestmark = pytest.mark.integration
D = Decimal
H = 3_600_000


def xyz_body() -> list[Any]:
    """The recorded docs example of a HIP-3 dex's metaAndAssetCtxs is in the docs only; the recorded first-dex
    body with `xyz:` names stands in for it (the parser requires the prefix)."""
    meta, ctxs = load_payload("hyperliquid", "rest_info_metaAndAssetCtxs_SOL_fragment")
    meta["universe"][0]["name"] = "xyz:SOL"
    return [meta, ctxs]


class RecordedHyperliquid:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        now_h = int(datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0).timestamp() * 1000)
        self.history_hours = [now_h - k * H for k in range(1, 24)][::-1]  # all inside a 1-day window

    async def info(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.seen.append(body)
        kind = body["type"]
        if kind == "metaAndAssetCtxs":
            payload = (
                xyz_body()
                if body.get("dex") == "xyz"
                else load_payload("hyperliquid", "rest_info_metaAndAssetCtxs_docexample")
            )
        elif kind == "predictedFundings":
            payload = load_payload("hyperliquid", "rest_info_predictedFundings_BTC_ETH_2025-08_docexample")
        elif kind == "fundingHistory":
            rows = [
                {"coin": body["coin"], "fundingRate": "0.0000125", "premium": "0.0", "time": t + 42}
                for t in self.history_hours
                if body["startTime"] <= t + 42 <= body["endTime"]
            ]
            payload = rows
        else:
            return web.Response(status=422, text="Failed to deserialize the JSON body into the target type")
        return web.json_response(payload)


@pytest_asyncio.fixture
async def venue() -> AsyncIterator[tuple[RecordedHyperliquid, str]]:
    stub = RecordedHyperliquid()
    app = web.Application()
    app.router.add_post("/info", stub.info)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield stub, str(server.make_url("")).rstrip("/")
    await server.close()


async def perparb(env: dict[str, str], *args: str, cwd: Path) -> tuple[int, str, str]:
    import asyncio

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "perparb",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


def env_for(db_url: str, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env.update(
        {
            "DATABASE_URL": db_url,
            "PERPARB_VENUES": "hyperliquid,hyperliquid:xyz",
            "PERPARB_HYPERLIQUID_DEXES": "xyz",
            "PERPARB_HYPERLIQUID_URL": url,  # hyperliquid:xyz inherits it (same server, same budget)
            "PERPARB_HTTP_RETRIES": "1",
            "PERPARB_MAX_DATA_AGE_SECONDS": "100000000",
            "PYTHONPATH": str(PROJECT),
        }
    )
    return env


async def test_collect_once_reports_both_dexes(
    clean_engine: AsyncEngine, db_url: str, venue: tuple[RecordedHyperliquid, str], tmp_path: Path
) -> None:
    stub, url = venue
    code, out, err = await perparb(env_for(db_url, url), "collect", "--once", "--json", cwd=tmp_path)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["failed_venues"] == []
    main, xyz = summary["venues"]["hyperliquid"], summary["venues"]["hyperliquid:xyz"]
    assert (main["status"], main["stored"], main["rejected"]) == ("ok", 3, 0)
    assert main["reference_stored"] == 4  # Binance and Bybit for BTC and ETH, from predictedFundings
    assert (xyz["status"], xyz["stored"]) == ("ok", 1)
    assert {"type": "metaAndAssetCtxs", "dex": "xyz"} in stub.seen
    assert sum(1 for b in stub.seen if b["type"] == "predictedFundings") == 1  # first perp dex only

    code, out, err = await perparb(env_for(db_url, url), "rates", "--json", "--reference", cwd=tmp_path)
    assert code == 0, err
    listing = json.loads(out)
    own = {(r["venue"], r["symbol"]): r for r in listing["rates"]}
    assert set(own) >= {
        ("hyperliquid", "BTC"),
        ("hyperliquid", "ETH"),
        ("hyperliquid", "HPOS"),
        ("hyperliquid:xyz", "SOL"),
    }
    btc = own[("hyperliquid", "BTC")]
    assert D(str(btc["rate_hourly"])) == D("0.0000125") and D(str(btc["raw_period_hours"])) == 1
    sol = own[("hyperliquid:xyz", "SOL")]
    assert D(str(sol["rate_hourly"])) == D(
        "0.0000198"
    )  # the xyz dex's own rate, not merged with the main dex
    refs_shown = {(r["source_venue"], r["venue"], r["symbol"]): r for r in listing["reference_rates"]}
    assert D(str(refs_shown[("hyperliquid", "binance", "BTC")]["rate_hourly"])) == D("0.00008786") / 8
    assert ("hyperliquid", "hyperliquid", "BTC") not in refs_shown  # HlPerp is never a reference of itself
    async with clean_engine.connect() as conn:
        venues = set((await conn.execute(text("SELECT name FROM venues"))).scalars())
        refs = (
            await conn.execute(
                text("SELECT source_venue, venue, raw_period_hours FROM reference_funding_rates")
            )
        ).all()
    assert venues == {"hyperliquid", "hyperliquid:xyz"}
    assert {(r[0], r[1], int(r[2])) for r in refs} == {
        ("hyperliquid", "binance", 8),
        ("hyperliquid", "bybit", 8),
    }


async def test_backfill_is_idempotent(
    clean_engine: AsyncEngine, db_url: str, venue: tuple[RecordedHyperliquid, str], tmp_path: Path
) -> None:
    _stub, url = venue
    env = env_for(db_url, url)
    code, out, err = await perparb(
        env, "backfill", "--venue", "hyperliquid", "--days", "1", "--json", cwd=tmp_path
    )
    assert code == 0, err
    first = json.loads(out)
    assert (first["markets"], first["stored"], first["markets_failed"]) == (3, 3 * 23, {})
    code, out, err = await perparb(
        env, "backfill", "--venue", "hyperliquid", "--days", "1", "--json", cwd=tmp_path
    )
    assert code == 0, err
    again = json.loads(out)
    assert (again["fetched"], again["stored"]) == (3 * 23, 0)  # a second run adds no row
    code, _out, err = await perparb(env, "backfill", "--venue", "hyperliquid", "--days", "1", cwd=tmp_path)
    assert code == 0 and "backfill hyperliquid" in err  # the progress bar (stderr)
    async with clean_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT count(*), min(source), max(rate_hourly) FROM funding_rate_samples WHERE kind = 'settled'"
                )
            )
        ).one()
    assert rows[0] == 69 and rows[1] == "hyperliquid:fundingHistory" and rows[2] == D("0.0000125")
