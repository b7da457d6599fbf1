"""The dashboard and the control API over HTTP (the app `perparb serve` runs, in process) against a seeded
PostgreSQL: pages and their security headers, errors naming the field and value, the charts' SVG, the control
API's refusals and its one write, offline /docs, a database outage, and `perparb backtest --save`.

The browser tests (test_dashboard_browser.py) render the same pages in Chromium."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backtest import store
from perparb.dashboard import queries
from perparb.web import create_web_app
from perparb_core.settings import DatabaseConfig, ServiceConfig
from tests.integration import dashboard_seed
from tests.integration.dashboard_seed import Seeded

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-" + "k" * 30


@pytest_asyncio.fixture(scope="module")
async def seeded(engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return await dashboard_seed.seed(engine, tmp_path_factory.mktemp("plots"))


def config_for(engine: AsyncEngine, token: str | None) -> ServiceConfig:
    return ServiceConfig(
        database=DatabaseConfig(url=engine.url.render_as_string(hide_password=False)),
        venues=dashboard_seed.VENUES,
        api_token=None if token is None else SecretStr(token),
    )


@pytest_asyncio.fixture
async def client(engine: AsyncEngine, seeded: Seeded) -> AsyncIterator[httpx.AsyncClient]:
    app = create_web_app(config_for(engine, TOKEN), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as c:
        yield c


@pytest_asyncio.fixture
async def readonly(engine: AsyncEngine, seeded: Seeded) -> AsyncIterator[httpx.AsyncClient]:
    app = create_web_app(config_for(engine, None), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as c:
        yield c


def pages(seeded: Seeded) -> list[str]:
    return [
        "/",
        "/?symbols=ETH&venues=lighter,paradex&min_apr=0.1&horizon_hours=72&maker=true&limit=5",
        "/?symbols=&venues=&min_apr=&horizon_hours=&limit=",  # an empty form: no filter
        "/rates",
        "/rates?symbol=eth&days=3",
        "/runs",
        "/runs?account=alice",
        f"/runs/{seeded.runs['alice']}",
        f"/runs/{seeded.runs['bob']}",
        "/alerts",
        "/alerts?status=&level=&event=&account=&limit=",
        "/alerts?status=failed&level=warn",
        "/backtests",
        f"/backtests/{seeded.report_id}",
    ]


async def test_every_page_renders_with_strict_headers(client: httpx.AsyncClient, seeded: Seeded) -> None:
    for path in pages(seeded):
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text[-500:])
        assert r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        # nothing is loaded from another host, and no inline script (the CSP would block it)
        assert not re.search(r"(src|href)=\"(https?:)?//", r.text), path
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), path
        assert TOKEN not in r.text
    for asset in ("/static/dashboard.css", "/static/sort.js", "/static/controls.js", "/static/favicon.svg"):
        assert (await client.get(asset)).status_code == 200


class Tables(HTMLParser):
    """The body cells of every table of a page, by table id: {id: [[cell text, ...], ...]}."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._body = False
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tbody":
            self._body = True
        elif tag == "tr" and self._body and self._table is not None:
            self.tables[self._table].append([])
        elif tag == "td" and self._body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tbody":
            self._body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


async def test_filters_change_the_tables(client: httpx.AsyncClient, seeded: Seeded) -> None:
    everything = Tables((await client.get("/")).text).tables
    assert {r[1] for r in everything["opportunities"]} == {"ETH", "BTC"} and len(
        everything["opportunities"]
    ) == 8
    assert [r[:2] for r in everything["stale"]] == [["SOL", "paradex"]]
    only_eth = Tables((await client.get("/?symbols=eth&venues=lighter,paradex")).text).tables
    assert [r[1:4] for r in only_eth["opportunities"]] == [
        ["ETH", "lighter", "paradex"],
        ["ETH", "paradex", "lighter"],
    ]
    assert "stale" not in only_eth  # SOL is filtered out too
    top = Tables((await client.get("/?limit=1&min_apr=0.3")).text).tables["opportunities"]
    assert [r[1:4] for r in top] == [["ETH", "lighter", "paradex"]]
    none = Tables((await client.get("/?min_apr=5")).text).tables["opportunities"]
    assert len(none) == 1 and "under these filters" in none[0][0]
    alice = Tables((await client.get("/runs?account=alice")).text).tables["runs"]
    assert [r[1] for r in alice] == ["alice"]
    failed = Tables((await client.get("/alerts?status=failed")).text).tables["alerts"]
    assert [r[3] for r in failed] == ["liquidation_warning"]
    events = Tables((await client.get("/alerts?event=venue_outage")).text).tables["alerts"]
    assert [(r[3], r[4]) for r in events] == [("venue_outage", "hyperliquid")]


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [
        ("/?limit=0", 422, ["limit", "0", "1..1000"]),
        ("/?limit=ten", 422, ["limit", "'ten'", "whole number"]),
        ("/?min_apr=abc", 422, ["min_apr", "'abc'", "not a number"]),
        ("/?min_apr=nan", 422, ["min_apr", "'nan'", "finite"]),
        ("/?horizon_hours=0", 422, ["horizon_hours", "'0'", "greater than 0"]),
        ("/?venues=binance", 422, ["venues", "'binance'", "known:"]),
        ("/?maker=maybe", 422, ["maker", "'maybe'"]),
        ("/?symbols=E%3CT", 422, ["symbols", "&#39;E&lt;T&#39;"]),
        ("/rates?days=500", 422, ["days", "500", "1..90"]),
        ("/rates?symbol=NOPE", 404, ["symbol", "'NOPE'"]),
        ("/runs/999999", 404, ["run_id", "999999"]),
        ("/runs/abc", 422, ["run_id", "&#39;abc&#39;"]),
        ("/alerts?status=lost", 422, ["status", "'lost'", "pending, sent, failed"]),
        ("/alerts?level=panic", 422, ["level", "'panic'"]),
        ("/backtests/424242", 404, ["report_id", "424242"]),
        ("/backtests/424242/plot.png", 404, ["report_id", "424242"]),
        ("/charts/rates.svg", 422, ["symbol", "required"]),
        ("/charts/rates.svg?symbol=DOGE", 404, ["symbol", "DOGE"]),
        ("/charts/spread.svg?symbol=ETH&long=lighter&short=lighter", 422, ["long, short", "lighter"]),
        ("/charts/spread.svg?symbol=ETH&long=lighter&short=nowhere", 422, ["short", "'nowhere'"]),
    ],
)
async def test_bad_values_answer_a_page_naming_the_field(
    client: httpx.AsyncClient, path: str, status: int, expected: list[str]
) -> None:
    r = await client.get(path)
    assert r.status_code == status, r.text[-300:]
    assert r.headers["content-type"].startswith("text/html")
    error = r.text.split('id="error"', 1)[1]
    for word in expected:
        assert word.replace("'", "&#39;") in error or word in error, (word, error[:400])


async def test_api_errors_stay_json(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/opportunities", params={"horizon_hours": 0})
    assert r.status_code == 422 and r.headers["content-type"] == "application/json"
    assert r.json()["detail"][0]["loc"] == ["query", "horizon_hours"]
    r = await client.get("/api/v1/commands/0")
    assert r.status_code == 422 and r.headers["content-type"] == "application/json"


async def test_charts_are_svg_documents_of_the_data(client: httpx.AsyncClient, seeded: Seeded) -> None:
    r = await client.get("/charts/rates.svg", params={"symbol": "ETH", "days": 3})
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert r.text.startswith("<?xml") and "<svg" in r.text and r.text.count("<path") > 20
    for word in ("hyperliquid", "lighter", "paradex", "APR %", "UTC"):
        assert word in r.text
    r = await client.get(
        "/charts/spread.svg", params={"symbol": "ETH", "long": "lighter", "short": "paradex"}
    )
    assert r.status_code == 200 and "long lighter / short paradex" in r.text and "mean" in r.text
    r = await client.get(f"/charts/equity/{seeded.runs['alice']}.svg")
    assert r.status_code == 200 and "equity (funding + realised + unrealised)" in r.text
    assert (await client.get(f"/charts/equity/{seeded.runs['bob']}.svg")).status_code == 404
    png = await client.get(f"/backtests/{seeded.report_id}/plot.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


async def test_equity_curve_thinned_keeps_the_newest_row(
    engine: AsyncEngine, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.connect() as conn:
        full = await queries.run_equity(conn, seeded.runs["alice"])
        monkeypatch.setattr(queries, "EQUITY_POINTS", 25)
        thin = await queries.run_equity(conn, seeded.runs["alice"])
    assert len(full) == dashboard_seed.EQUITY_ROWS
    assert 20 <= len(thin) <= 25
    assert thin[-1]["at"] == full[-1]["at"] and thin[-1]["equity_usd"] == seeded.equity_last
    assert [r["at"] for r in thin] == sorted(r["at"] for r in thin)


# ------------------------------------------------------------------------------------------------ control


async def commands(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT * FROM run_commands ORDER BY id"))).all())


def post(client: httpx.AsyncClient, body: Any, token: str | None = None, account: str = "alice") -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(
        f"/api/v1/accounts/{account}/commands",
        content=content,
        headers={"Content-Type": "application/json", **headers},
    )


async def test_control_is_refused_without_a_configured_token(
    readonly: httpx.AsyncClient, engine: AsyncEngine, seeded: Seeded
) -> None:
    before = await commands(engine)
    for token in (None, TOKEN, ""):
        r = await post(readonly, {"command": "pause"}, token)
        assert r.status_code == 403 and r.json()["error"] == "control_disabled"
        assert "PERPARB_API_TOKEN" in r.json()["detail"]
    assert await commands(engine) == before
    page = (await readonly.get(f"/runs/{seeded.runs['alice']}")).text
    assert 'id="control-disabled"' in page and 'id="control-token"' not in page
    assert "read-only" in page


async def test_control_needs_the_token_and_records_one_command(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def recording_compare(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr("perparb.dashboard.control.hmac.compare_digest", recording_compare)
    before = await commands(engine)

    refusals = [
        (await post(client, {"command": "pause"}), "send the API token"),
        (await post(client, {"command": "pause"}, "not-the-token-at-all-xxxxxxxx"), "not this server's"),
        (await post(client, {"command": "pause"}, TOKEN[:-1]), "not this server's"),
        (await post(client, {"command": "pause"}, TOKEN + "x"), "not this server's"),
        (
            await post(client, b"{not json", None),
            "send the API token",
        ),  # the token is checked before the body
    ]
    r = await client.post(
        "/api/v1/accounts/alice/commands",
        json={"command": "pause"},
        headers={"Authorization": f"Basic {TOKEN}"},
    )
    refusals.append((r, "send the API token"))
    for response, why in refusals:
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"] == "unauthorized" and why in response.json()["detail"]
    assert compared and all(
        b == TOKEN.encode() for _a, b in compared
    )  # wrong tokens went through compare_digest
    assert await commands(engine) == before

    # authorised, but a bad body or an unknown account: named, nothing recorded
    r = await post(client, {"command": "liquidate"}, TOKEN)
    assert r.status_code == 422 and "command" in r.json()["detail"] and "'liquidate'" in r.json()["detail"]
    r = await post(client, {"command": "pause", "mode": "demo"}, TOKEN)
    assert r.status_code == 422 and "mode" in r.json()["detail"] and "'demo'" in r.json()["detail"]
    r = await post(client, {"command": "pause", "size": 1}, TOKEN)
    assert r.status_code == 422 and "size" in r.json()["detail"]
    r = await post(client, b"{not json", TOKEN)
    assert r.status_code == 422 and "not JSON" in r.json()["detail"]
    r = await post(client, {"command": "pause"}, TOKEN, account="mallory")
    assert r.status_code == 404 and "'mallory'" in r.json()["detail"]
    r = await post(client, {"command": "pause"}, TOKEN, account="bad%20name")
    assert r.status_code == 422
    assert await commands(engine) == before

    # the one write: a pending command for alice's paper run, issued by the API from the client's address
    r = await post(client, {"command": "flatten", "mode": "paper", "reason": "test"}, TOKEN)
    assert r.status_code == 201, r.text
    body = r.json()
    rows = await commands(engine)
    assert len(rows) == len(before) + 1
    row = rows[-1]
    assert body["id"] == row.id and body["status"] == "pending" == row.status
    assert (row.account_name, row.mode, row.command, row.reason) == ("alice", "paper", "flatten", "test")
    assert row.issued_by == "api 127.0.0.1" == body["issued_by"]
    assert (row.expires_at - row.created_at).total_seconds() == pytest.approx(
        600
    )  # flatten acts now or never
    listed = (await client.get("/api/v1/accounts/alice/commands", params={"limit": 2})).json()
    assert listed[0]["id"] == row.id and len(listed) == 2
    one = (await client.get(f"/api/v1/commands/{row.id}")).json()
    assert one["command"] == "flatten" and one["mode"] == "paper"
    assert (await client.get("/api/v1/commands/99999999")).status_code == 404
    page = (await client.get(f"/runs/{seeded.runs['alice']}")).text
    assert "api 127.0.0.1" in page and "flatten" in page

    # the token is in no log line, answer or error
    assert all(TOKEN not in rec.getMessage() for rec in caplog.records)
    assert any("refused a request" in rec.getMessage() for rec in caplog.records)
    assert any(f"command {row.id}" in rec.getMessage() for rec in caplog.records)
    for response, _ in refusals:
        assert TOKEN not in response.text
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM run_commands WHERE id = :id"), {"id": row.id})


async def test_openapi_documents_the_control_body(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    post_op = spec["paths"]["/api/v1/accounts/{account}/commands"]["post"]
    schema = post_op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["command"]["enum"] == ["pause", "resume", "flatten"]
    assert {"401", "403", "404", "422"} <= set(post_op["responses"])
    assert not any(
        p.startswith(("/runs", "/charts", "/backtests", "/rates", "/alerts")) for p in spec["paths"]
    )


async def test_docs_need_no_other_host(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert not re.search(r"https?://", docs.text), "the docs page references another host"
    assert '"validatorUrl": null' in docs.text
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', docs.text):
        r = await client.get(asset)
        assert r.status_code == 200 and len(r.content) > 100, asset
    assert (await client.get("/redoc")).status_code == 404  # ReDoc would fetch its logo from cdn.redoc.ly


async def test_a_database_outage_is_a_page_not_a_traceback(seeded: Seeded) -> None:
    down = create_async_engine("postgresql+asyncpg://perparb:hunter2pass@127.0.0.1:9/perparb")
    app = create_web_app(
        ServiceConfig(database=DatabaseConfig(url=str(down.url)), venues=dashboard_seed.VENUES), engine=down
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://localhost"
        ) as c:
            for path in ("/", "/runs", "/alerts", "/backtests"):
                r = await c.get(path)
                assert r.status_code == 503 and r.headers["content-type"].startswith("text/html"), (
                    path,
                    r.text,
                )
                assert "127.0.0.1:9" in r.text and "hunter2pass" not in r.text
            api = await c.get("/api/v1/opportunities")
            assert api.status_code == 503 and api.json()["error"] == "database_unavailable"
    finally:
        await down.dispose()


# ------------------------------------------------------------------------------------ saved backtests


async def test_saved_reports_round_trip(engine: AsyncEngine, seeded: Seeded) -> None:
    async with engine.connect() as conn:
        listed = await store.list_reports(conn)
        report = await store.get_report(conn, seeded.report_id)
        png = await store.report_plot(conn, seeded.report_id)
        assert await store.get_report(conn, 999999) is None and await store.report_plot(conn, 999999) is None
    assert [r.id for r in listed] == [seeded.report_id]
    assert report is not None and report.head.name == "seeded replay" and report.head.has_plot
    assert report.head.net_pnl_usd == pytest.approx(seeded.report_net_pnl)
    assert report.summary["config"] == "dash-replay" and report.config["name"] == "dash-replay"
    assert (
        "net PnL" in report.report_text and "\x1b[" not in report.report_text
    )  # plain text, no colour codes
    assert png is not None and png.startswith(b"\x89PNG")


def test_json_safe_replaces_non_finite_floats() -> None:
    assert store.json_safe({"a": float("nan"), "b": [1.5, float("inf"), {"c": -float("inf")}], "d": "x"}) == {
        "a": None,
        "b": [1.5, None, {"c": None}],
        "d": "x",
    }


def perparb_env(engine: AsyncEngine, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPARB_") and k != "DATABASE_URL"}
    env.update(
        {
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "PERPARB_DATA_DIR": str(tmp_path),
            "PYTHONPATH": str(PROJECT),
        }
    )
    return env


async def run_perparb(env: dict[str, str], *args: str, cwd: Path) -> tuple[int, str, str]:
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
    out, err = await asyncio.wait_for(proc.communicate(), timeout=180)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_backtest_save_stores_the_report(engine: AsyncEngine, seeded: Seeded, tmp_path: Path) -> None:
    config = tmp_path / "dash-replay.yaml"
    config.write_text(json.dumps(dashboard_seed.BACKTEST_CONFIG))
    env = perparb_env(engine, tmp_path)
    code, out, err = await run_perparb(
        env,
        "backtest",
        str(config),
        "--history",
        "db",
        "--save",
        "--name",
        "cli save",
        "--plot",
        str(tmp_path / "plots"),
        "--json",
        cwd=tmp_path,
    )
    assert code == 0, err
    data = json.loads(out)
    saved = data["saved_report_id"]
    async with engine.connect() as conn:
        report = await store.get_report(conn, saved)
        png = await store.report_plot(conn, saved)
    assert report is not None and report.head.name == "cli save" and report.head.config_name == "dash-replay"
    assert (
        report.summary["net_pnl_usd"] == data["net_pnl_usd"] and report.summary["entries"] == data["entries"]
    )
    assert report.head.window_start.isoformat() == data["start"]
    assert png == (tmp_path / "plots" / "equity_curve.png").read_bytes()
    assert report.config["venues"] == ["lighter", "paradex"]

    # human output: the report, then the id; without --plot no PNG; the default name
    code, out, err = await run_perparb(
        env, "backtest", str(config), "--history", "db", "--save", cwd=tmp_path
    )
    assert code == 0, err
    match = re.search(r"saved backtest report (\d+)", out)
    assert match is not None and "net PnL" in out
    async with engine.connect() as conn:
        second = await store.get_report(conn, int(match.group(1)))
        assert await store.report_plot(conn, int(match.group(1))) is None
    assert second is not None and not second.head.has_plot
    assert re.fullmatch(r"dash-replay \d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d", second.head.name)

    # --name needs --save; both fail before any replay, nothing stored
    async with engine.connect() as conn:
        count = len(await store.list_reports(conn))
    code, _out, err = await run_perparb(
        env, "backtest", str(config), "--history", "db", "--name", "x", cwd=tmp_path
    )
    assert code == 2 and "--name names a saved report: add --save" in err
    code, _out, err = await run_perparb(
        env, "backtest", str(config), "--history", "db", "--save", "--name", " ", cwd=tmp_path
    )
    assert code == 2 and "--name: the report name is empty" in err
    # the database is checked before the replay
    down = {**env, "DATABASE_URL": "postgresql+asyncpg://perparb:pw@127.0.0.1:9/perparb"}
    code, _out, err = await run_perparb(
        down, "backtest", str(config), "--history", "db", "--save", cwd=tmp_path
    )
    assert code == 2 and "127.0.0.1:9" in err and "replay" not in err
    async with engine.connect() as conn:
        assert len(await store.list_reports(conn)) == count
        await conn.execute(text("DELETE FROM backtest_reports WHERE id <> :id"), {"id": seeded.report_id})
        await conn.commit()
