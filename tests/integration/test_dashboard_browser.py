"""The dashboard in a real headless browser (Chromium driven by Playwright) against a seeded PostgreSQL.

The app (`perparb.web.create_web_app`, the one `perparb serve` runs) is served by uvicorn on a free loopback port
in this test's event loop. Every page is loaded; the tests read the tables as rendered, sort them by clicking
headers, check that each chart image decoded to a non-empty picture, send the control actions without and with
the token (a `run_commands` row appears only with it), check that /docs loads nothing from another host, and
save a screenshot of each page under the test's tmp_path (`screenshots/`).

Skipped, with the reason, when Playwright or a Chromium binary is missing (`.ci/run` installs both).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from funding_rate_service import repository
from funding_rate_service.service import build_query, get_opportunities
from perparb.web import create_web_app
from perparb_core.settings import DatabaseConfig, RankingConfig, ServiceConfig
from tests.integration import dashboard_seed
from tests.integration.dashboard_seed import Seeded

pytestmark = pytest.mark.integration

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pip install '.[dev]')"
)

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "test-token-" + "7" * 24


def chromium_path() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


CHROMIUM = chromium_path()
if CHROMIUM is None:
    pytest.skip(
        "no Chromium binary (/usr/bin/chromium): `apt-get install chromium` (.ci/run does it)",
        allow_module_level=True,
    )


@pytest_asyncio.fixture(scope="module")
async def seeded(engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return await dashboard_seed.seed(engine, tmp_path_factory.mktemp("plots"))


@pytest_asyncio.fixture(scope="module")
async def server(engine: AsyncEngine, seeded: Seeded) -> AsyncIterator[str]:
    """The web app on a free 127.0.0.1 port, served by uvicorn in this event loop; yields its base URL."""
    import uvicorn

    config = ServiceConfig(
        database=DatabaseConfig(url=engine.url.render_as_string(hide_password=False)),
        venues=dashboard_seed.VENUES,
        allowed_hosts=("127.0.0.1", "localhost"),
        api_token=SecretStr(TOKEN),
    )
    app = create_web_app(config, engine=engine)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    for _ in range(200):
        if uv.started:
            break
        await asyncio.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    await asyncio.wait_for(task, timeout=10)
    sock.close()


@pytest_asyncio.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        await b.close()


class Page:
    """A browser page that records console errors, failed requests and every requested URL."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    async def open(self, url: str) -> None:
        response = await self.page.goto(url, wait_until="networkidle")
        assert response is not None and response.status == 200, f"{url}: {response and response.status}"

    async def table(self, table_id: str) -> list[list[str]]:
        """The body cells of table `table_id` as shown, row by row."""
        return await self.page.eval_on_selector_all(
            f"#{table_id} tbody tr",
            "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))",
        )

    async def headers(self, table_id: str) -> list[str]:
        return await self.page.eval_on_selector_all(
            f"#{table_id} thead th", "hs => hs.map(h => h.textContent.trim())"
        )

    async def column(self, table_id: str, name: str) -> list[str]:
        index = (await self.headers(table_id)).index(name)
        return [row[index] for row in await self.table(table_id)]

    async def sort_keys(self, table_id: str, name: str) -> list[float | None]:
        index = (await self.headers(table_id)).index(name)
        raw = await self.page.eval_on_selector_all(
            f"#{table_id} tbody tr", f"rows => rows.map(r => r.cells[{index}].dataset.sort)"
        )
        return [None if v in ("", None) else float(v) for v in raw]

    async def click_header(self, table_id: str, name: str) -> None:
        await self.page.locator(f"#{table_id} thead th", has_text=name).first.click()

    async def image(self, selector: str) -> dict[str, Any]:
        """Natural and rendered size of the image at `selector` once loaded."""
        await self.page.wait_for_function(
            "sel => { const i = document.querySelector(sel); return i && i.complete; }", arg=selector
        )
        return await self.page.eval_on_selector(
            selector,
            "i => ({w: i.naturalWidth, h: i.naturalHeight, box: i.getBoundingClientRect().width, src: i.src})",
        )

    async def shot(self, name: str) -> Path:
        await self.page.evaluate("window.scrollTo(0, 0)")
        path = self.shots / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        return path


@pytest_asyncio.fixture
async def page(browser: Any, tmp_path: Path) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1500, "height": 1000})
    shots = tmp_path / "screenshots"
    shots.mkdir()
    p = Page(await context.new_page(), shots)
    yield p
    assert p.errors == [], f"browser console errors: {p.errors}"
    await context.close()


async def assert_chart(p: Page, selector: str, *, must_mention: list[str]) -> None:
    """The image at `selector` decoded to a non-empty picture and its SVG draws lines and names `must_mention`."""
    info = await p.image(selector)
    assert info["w"] > 300 and info["h"] > 100 and info["box"] > 300, info
    response = await p.page.request.get(info["src"])
    assert response.status == 200 and response.headers["content-type"] == "image/svg+xml"
    svg = await response.text()
    assert svg.count("<path") > 10, "the chart draws no lines"
    for word in must_mention:
        assert word in svg, f"{word!r} missing from the chart {info['src']}"


def _pct_text(fraction: float) -> str:
    return f"{fraction * 100:,.2f} %"


async def test_opportunities_page(page: Page, server: str, engine: AsyncEngine, seeded: Seeded) -> None:
    p = page
    await p.open(server + "/")
    assert await p.page.title() == "Opportunities · perparb"
    # the ranking as the service computes it, in the same order, with each leg's age shown
    async with engine.connect() as conn:
        expected = await get_opportunities(
            conn,
            build_query(
                RankingConfig(),
                min_apr=None,
                horizon_hours=None,
                venues=None,
                exclude=None,
                require=None,
                symbols=None,
                min_volume_usd=None,
                min_oi_usd=None,
                maker=False,
                slippage_bps=None,
                limit=50,
            ),
        )
    rows = await p.table("opportunities")
    assert [(r[1], r[2], r[3]) for r in rows] == [
        (o.symbol, o.long_venue, o.short_venue) for o in expected.opportunities
    ]
    assert [r[8] for r in rows] == [_pct_text(float(o.net_apr)) for o in expected.opportunities]
    by_pair = {(r[1], r[2], r[3]): r for r in rows}
    # ETH long lighter (0.00001/h) / short paradex (0.00006/h): spread 0.00005/h = 43.80 % APR gross
    eth = by_pair[("ETH", "lighter", "paradex")]
    assert eth[4] == "8.76 %" and eth[5] == "52.56 %" and eth[6] == "43.80 %"
    assert eth[12].endswith(" s") and int(eth[12].split()[0]) >= 30  # long leg seeded 30 s old
    assert eth[13].endswith(" min") and float(eth[13].split()[0]) >= 10.0  # short leg 600 s: shown as aging
    assert "aging" in await p.page.locator("#opportunities tbody tr", has_text="paradex").first.locator(
        "td.age"
    ).last.get_attribute("class")
    assert all(r[1] != "SOL" for r in rows), "a stale leg entered the ranking"
    assert [r[:3] for r in await p.table("stale")] == [["SOL", "paradex", "SOL-USD-PERP"]]
    venues = {r[0]: r for r in await p.table("venues")}
    assert set(venues) == set(dashboard_seed.VENUES)
    assert venues["hyperliquid"][2].startswith("failed") and venues["lighter"][2] == "ok"
    await p.shot("opportunities")

    # sort by a click on a header: net APR ascending, then descending; symbol alphabetical
    await p.click_header("opportunities", "net APR")
    keys = await p.sort_keys("opportunities", "net APR")
    assert keys == sorted(keys) and len(set(keys)) > 1
    assert await p.page.get_attribute("#opportunities th:nth-child(9)", "aria-sort") == "ascending"
    await p.click_header("opportunities", "net APR")
    assert await p.sort_keys("opportunities", "net APR") == sorted(keys, reverse=True)
    await p.click_header("opportunities", "symbol")
    symbols = await p.column("opportunities", "symbol")
    assert symbols == sorted(symbols, key=str.lower) and symbols[0] == "BTC"
    await p.click_header("opportunities", "long age")
    ages = await p.sort_keys("opportunities", "long age")
    assert ages == sorted(ages)
    await p.shot("opportunities-sorted-by-long-age")

    # a bad filter value: a page naming the field and the value
    response = await p.page.goto(server + "/?min_apr=abc")
    assert response is not None and response.status == 422
    assert "min_apr" in await p.page.inner_text("#error") and "abc" in await p.page.inner_text("#error")
    assert p.errors == [
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ]
    p.errors.clear()  # the browser logs the refused page itself


async def test_rates_page_charts(page: Page, server: str, engine: AsyncEngine, seeded: Seeded) -> None:
    p = page
    await p.open(server + "/rates")
    assert {r[0] for r in await p.table("symbols-table")} == {"BTC", "ETH", "SOL"}
    await p.open(server + "/rates?symbol=ETH&days=7")
    await assert_chart(p, "#rates-chart", must_mention=["hyperliquid", "lighter", "paradex", "APR %"])
    pairs = await p.table("pairs")
    # every pair shown in its profitable direction, widest mean spread first: paradex (0.00005) > hyperliquid
    # (0.000034) > lighter (0.00001), so spreads 0.00004 (lighter/paradex), 0.000024 (lighter/hyperliquid),
    # 0.000016 (hyperliquid/paradex); the seeded sine moves each mean by far less than those gaps
    assert [(r[0], r[1]) for r in pairs] == [
        ("lighter", "paradex"),
        ("lighter", "hyperliquid"),
        ("hyperliquid", "paradex"),
    ]
    # the mean spread as the stored hourly history gives it (short - long, aligned hours)
    async with engine.connect() as conn:
        history = await repository.hourly_history(conn, symbols=["ETH"], since=seeded.now - timedelta(days=7))
    lighter, paradex = dict(history[("lighter", "ETH")]), dict(history[("paradex", "ETH")])
    hours = set(lighter) & set(paradex)
    mean = sum(paradex[h] - lighter[h] for h in hours) / len(hours)
    assert pairs[0][2] == _pct_text(float(mean) * 8760) and pairs[0][4] == str(len(hours))
    charts = await p.page.locator("img.spread-chart").count()
    assert charts == 3
    for i in range(1, charts + 1):
        await p.page.locator(f"#spread-chart-{i}").scroll_into_view_if_needed()
        await assert_chart(
            p, f"#spread-chart-{i}", must_mention=["mean", "spread", "lighter" if i < 3 else "paradex"]
        )
    await p.shot("rates-ETH")
    # BTC: paradex pays less than lighter, so the pair is long paradex / short lighter
    await p.open(server + "/rates?symbol=BTC")
    assert [(r[0], r[1]) for r in await p.table("pairs")] == [("paradex", "lighter")]
    await assert_chart(p, "#rates-chart", must_mention=["lighter", "paradex"])
    await p.shot("rates-BTC")


async def test_runs_and_run_page(page: Page, server: str, seeded: Seeded) -> None:
    p = page
    await p.open(server + "/runs")
    runs = {r[1]: r for r in await p.table("runs")}
    assert set(runs) == {"alice", "bob", "carol"}
    assert runs["alice"][5] == "running" and runs["alice"][8] == "1"
    assert runs["alice"][9] == f"{float(seeded.equity_last):,.2f}"
    assert "stale (process may have died)" in runs["carol"][5]
    assert runs["bob"][5] == "crashed" and runs["bob"][10] == "lease lost"
    await p.click_header("runs", "run")
    assert await p.sort_keys("runs", "run") == sorted(seeded.runs.values())
    await p.shot("runs")

    await p.page.click(f"a[href='/runs/{seeded.runs['alice']}']")
    await p.page.wait_for_load_state("networkidle")
    assert await p.page.title() == f"Run {seeded.runs['alice']} · perparb"
    open_rows = await p.table("open-positions")
    assert len(open_rows) == 1
    row = dict(zip(await p.headers("open-positions"), open_rows[0], strict=True))
    assert (row["symbol"], row["long"], row["short"], row["status"]) == ("ETH", "lighter", "paradex", "open")
    assert (row["funding L"], row["funding S"], row["fees"]) == ("-1.20", "4.50", "2.40")
    assert row["unrealised"] == "-2.00"  # 20 on the long leg, -22 on the short
    assert row["total"] == f"{float(dashboard_seed.OPEN_TOTAL):,.2f}" == "-1.10"
    assert row["liq dist"] == "8.0 %"  # the nearer leg
    assert "bad" in (await p.page.locator("#open-positions tbody td").nth(13).get_attribute("class") or "")
    legs = [dict(zip(await p.headers("legs"), r, strict=True)) for r in await p.table("legs")]
    assert [(x["side"], x["venue"], x["qty"], x["mark"], x["unrealised"], x["liq dist"]) for x in legs] == [
        ("long", "lighter", "2", "3010", "20.00", "42.0 %"),
        ("short", "paradex", "-2", "3011", "-22.00", "8.0 %"),
    ]
    closed = dict(
        zip(await p.headers("closed-positions"), (await p.table("closed-positions"))[0], strict=True)
    )
    assert (closed["symbol"], closed["realised"], closed["exit"]) == ("BTC", "12.50", "signal_decay")
    events = await p.table("events")
    assert len(events) == 4 and events[0][1] == "warn" and "liquidation" in events[0][3]
    alerts = await p.table("run-alerts")
    assert {a[3] for a in alerts} == {"position_opened", "liquidation_warning"}  # not the venue outage
    commands = await p.table("commands")
    assert commands[0][2] == "pause" and commands[0][6] == "done"
    await assert_chart(
        p, "#equity-chart", must_mention=["equity", "funding", "realised", "unrealised", "USD"]
    )
    await p.shot("run-alice")

    await p.open(server + f"/runs/{seeded.runs['bob']}")
    assert await p.table("open-positions") == [["no open position"]]
    assert await p.page.locator("#no-equity").count() == 1
    await p.shot("run-bob")


async def command_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(
            (
                await conn.execute(
                    text(
                        "SELECT id, account_name, mode, command, issued_by, reason, status FROM run_commands ORDER BY id"
                    )
                )
            ).all()
        )


async def test_control_actions_need_the_token(
    page: Page, server: str, engine: AsyncEngine, seeded: Seeded
) -> None:
    p = page
    await p.open(server + f"/runs/{seeded.runs['alice']}")
    before = await command_rows(engine)
    result = p.page.locator("#control-result")

    # no token typed: the server refuses (401), nothing is recorded
    await p.page.click("button[data-command='pause']")
    await p.page.wait_for_function(
        "() => document.querySelector('#control-result').textContent.includes('refused')"
    )
    assert "HTTP 401" in await result.inner_text()
    # a wrong token: refused too
    await p.page.fill("#control-token", "wrong-token-" + "0" * 20)
    await p.page.click("button[data-command='pause']")
    await p.page.wait_for_function(
        "() => document.querySelector('#control-result').textContent.includes('not this server')"
    )
    assert await command_rows(engine) == before
    assert (
        p.errors == ["Failed to load resource: the server responded with a status of 401 (Unauthorized)"] * 2
    )
    p.errors.clear()  # the browser logs each refused request itself
    await p.shot("control-refused")

    # the right token: a pause row for alice's paper run
    await p.page.fill("#control-token", TOKEN)
    await p.page.fill("#control-reason", "browser test")
    await p.page.click("button[data-command='pause']")
    await p.page.wait_for_function(
        "() => document.querySelector('#control-result').textContent.includes('recorded')"
    )
    rows = await command_rows(engine)
    assert len(rows) == len(before) + 1
    new = rows[-1]
    assert (new.account_name, new.mode, new.command, new.reason, new.status) == (
        "alice",
        "paper",
        "pause",
        "browser test",
        "pending",
    )
    assert new.issued_by == "api 127.0.0.1"
    assert f"command {new.id} (pause) recorded" in await result.inner_text()

    # flatten asks first: dismissed, nothing is sent; accepted, a flatten row
    answers = iter([False, True])

    async def on_dialog(dialog: Any) -> None:
        assert "Flatten account alice (paper)" in dialog.message
        await (dialog.accept() if next(answers) else dialog.dismiss())

    p.page.on("dialog", lambda d: asyncio.ensure_future(on_dialog(d)))
    await p.page.click("button[data-command='flatten']")
    await asyncio.sleep(0.5)
    assert len(await command_rows(engine)) == len(before) + 1
    await p.page.click("button[data-command='flatten']")
    await p.page.wait_for_function(
        "() => document.querySelector('#control-result').textContent.includes('(flatten) recorded')"
    )
    rows = await command_rows(engine)
    assert rows[-1].command == "flatten" and rows[-1].mode == "paper"
    # the token never reaches the page's text or markup
    assert TOKEN not in await p.page.content()
    await p.shot("control-accepted")
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM run_commands WHERE id > :id"), {"id": before[-1].id})


async def test_alerts_page(page: Page, server: str, seeded: Seeded) -> None:
    p = page
    await p.open(server + "/alerts")
    rows = await p.table("alerts")
    assert [r[3] for r in rows] == ["venue_outage", "liquidation_warning", "position_opened"]  # newest first
    by_event = {r[3]: r for r in rows}
    assert (
        by_event["liquidation_warning"][9].startswith("failed")
        and "5 attempts" in by_event["liquidation_warning"][9]
    )
    assert by_event["venue_outage"][9] == "unrouted" and by_event["venue_outage"][8] == ""
    await p.click_header("alerts", "id")
    assert await p.sort_keys("alerts", "id") == sorted(seeded.alert_ids.values())
    await p.shot("alerts")
    await p.page.select_option("select[name=status]", "failed")
    await p.page.click("form.filters button")
    await p.page.wait_for_load_state("networkidle")
    assert [r[3] for r in await p.table("alerts")] == ["liquidation_warning"]
    await p.shot("alerts-failed")


async def test_backtest_pages(page: Page, server: str, seeded: Seeded) -> None:
    p = page
    await p.open(server + "/backtests")
    rows = await p.table("backtests")
    assert len(rows) == 1 and rows[0][1] == "seeded replay" and rows[0][2] == "dash-replay"
    assert rows[0][6] == f"{seeded.report_net_pnl:,.2f}"
    await p.shot("backtests")
    await p.page.click("#backtests a")
    await p.page.wait_for_load_state("networkidle")
    info = await p.image("#backtest-plot")
    assert info["w"] > 300 and info["h"] > 100 and info["box"] > 300
    report = await p.page.inner_text("#report-text")
    assert "dash-replay" in report and "net PnL" in report
    assert await p.page.inner_text("#bt-net-pnl") == f"{seeded.report_net_pnl:,.2f} USD"
    await p.shot("backtest")


async def test_docs_work_offline(page: Page, server: str) -> None:
    p = page
    await p.open(server + "/docs")
    title = await p.page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert title is not None and "perparb funding-rate service" in await title.inner_text()
    # the operations rendered, the control endpoint among them
    await p.page.get_by_text("/api/v1/accounts/{account}/commands").first.wait_for()
    hosts = {urlsplit(u).netloc for u in p.requests if not u.startswith(("data:", "blob:"))}
    assert hosts == {urlsplit(server).netloc}, f"/docs requested other hosts: {hosts}"
    await p.shot("docs")


async def test_screenshots_of_error_pages(page: Page, server: str) -> None:
    p = page
    response = await p.page.goto(server + "/runs/999999")
    assert response is not None and response.status == 404
    assert "run_id: no run 999999" in await p.page.inner_text("#error")
    await p.shot("error-404")
    assert p.errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]
    p.errors.clear()  # the browser logs the 404 itself
