"""Build the Grafana dashboard JSON from perparb's metrics (perparb_core/metrics.py).

    python deploy/grafana/make_dashboard.py > deploy/grafana/dashboards/perparb.json

Each panel names the series it draws; tests/unit/test_deploy.py checks that the committed JSON is this script's
output, that every PromQL expression references only series perparb exports (`exported_names()`, plus
Prometheus's own `up`), and that every series perparb exports appears on some panel. Units follow the metric
names: `_seconds` in seconds, `_usd` in USD, `_ratio` as a fraction shown as percent.
"""

from __future__ import annotations

import json
import sys
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "perparb-prometheus"}
RUN = '{account=~"$account"}'
LEG = '{account=~"$account"}'

_next_id = 0


def _id() -> int:
    global _next_id
    _next_id += 1
    return _next_id


def panel(
    title: str,
    targets: list[tuple[str, str]],
    *,
    unit: str = "short",
    kind: str = "timeseries",
    width: int = 8,
    height: int = 8,
    description: str = "",
    thresholds: list[tuple[float | None, str]] | None = None,
) -> dict[str, Any]:
    """One panel: `targets` = [(PromQL, legend)]."""
    steps = [{"color": c, "value": v} for v, c in (thresholds or [(None, "green")])]
    return {
        "id": _id(),
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": height, "w": width, "x": 0, "y": 0},
        "fieldConfig": {
            "defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def row(title: str) -> dict[str, Any]:
    return {
        "id": _id(),
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0},
        "panels": [],
    }


def layout(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Place panels left to right, wrapping at Grafana's 24 columns; a row starts a new line."""
    x = y = line = 0
    for item in items:
        pos = item["gridPos"]
        if item["type"] == "row" or x + pos["w"] > 24:
            y += line
            x = line = 0
        pos["x"], pos["y"] = x, y
        if item["type"] == "row":
            y += 1
            continue
        x += pos["w"]
        line = max(line, pos["h"])
    return items


def panels() -> list[dict[str, Any]]:
    return [
        row("Processes and collection"),
        panel(
            "Processes up",
            [('up{job=~"perparb-.*"}', "{{job}} {{instance}}")],
            kind="stat",
            width=6,
            height=6,
            description="Prometheus's own scrape status: 1 = the process answers /metrics.",
            thresholds=[(None, "red"), (1, "green")],
        ),
        panel(
            "Best opportunity net APR",
            [("max(perparb_best_opportunity_net_apr_ratio)", "best net APR")],
            kind="stat",
            unit="percentunit",
            width=6,
            height=6,
            description="Net APR of the best-ranked direction under the default ranking (fraction shown as %).",
        ),
        panel(
            "Directions ranked",
            [("max(perparb_opportunities)", "directions")],
            kind="stat",
            width=6,
            height=6,
            description="Fresh markets listed on two or more venues, priced by the default ranking.",
        ),
        panel(
            "Data age per venue",
            [("max by (venue) (perparb_data_age_seconds)", "{{venue}}")],
            unit="s",
            width=6,
            height=6,
            description="Age of the newest stored funding rate of each venue; the ranking drops data older than "
            "PERPARB_MAX_DATA_AGE_SECONDS (default 900 s).",
            thresholds=[(None, "green"), (900, "red")],
        ),
        panel(
            "Collection cycle duration",
            [
                (
                    "histogram_quantile(0.5, sum by (le) (rate(perparb_collector_cycle_duration_seconds_bucket[15m])))",
                    "p50",
                ),
                (
                    "histogram_quantile(0.95, sum by (le) (rate(perparb_collector_cycle_duration_seconds_bucket[15m])))",
                    "p95",
                ),
                (
                    "rate(perparb_collector_cycle_duration_seconds_sum[15m]) / rate(perparb_collector_cycle_duration_seconds_count[15m])",
                    "mean",
                ),
            ],
            unit="s",
        ),
        panel(
            "Rows stored per venue",
            [
                ("perparb_collector_cycle_rows", "last cycle {{venue}}"),
                ("sum by (venue) (rate(perparb_collector_rows_total[15m])) * 60", "per minute {{venue}}"),
            ],
        ),
        panel(
            "Venue errors per minute",
            [("sum by (venue, kind) (rate(perparb_venue_errors_total[5m])) * 60", "{{venue}} {{kind}}")],
            description="By kind: unavailable, rate_limited, rejected, auth, data, other.",
        ),
        row("Runs"),
        panel(
            "Run equity",
            [(f"perparb_run_equity_usd{RUN}", "{{account}} {{config}}")],
            unit="currencyUSD",
            width=12,
            description="Funding + realised + unrealised PnL since the run started: the risk guardian's drawdown basis.",
        ),
        panel(
            "PnL parts",
            [
                (f"perparb_run_funding_accrued_usd{RUN}", "funding {{account}} {{config}}"),
                (f"perparb_run_realised_pnl_usd{RUN}", "realised {{account}} {{config}}"),
                (f"perparb_run_unrealised_pnl_usd{RUN}", "unrealised {{account}} {{config}}"),
            ],
            unit="currencyUSD",
            width=12,
        ),
        panel(
            "Open positions",
            [(f"perparb_run_open_positions{RUN}", "{{account}} {{config}}")],
            width=6,
        ),
        panel(
            "Notional per venue",
            [(f"perparb_run_notional_usd{RUN}", "{{account}} {{venue}}")],
            unit="currencyUSD",
            width=6,
        ),
        panel(
            "Net delta",
            [(f"perparb_run_net_delta_usd{RUN}", "{{account}} {{config}}")],
            unit="currencyUSD",
            width=6,
            description="Signed sum of leg notionals (long +, short -): ~0 for a delta-neutral book.",
        ),
        panel(
            "Entries paused",
            [(f"perparb_run_entries_paused{RUN}", "{{account}} {{config}}")],
            kind="stat",
            width=6,
            description="1 while a run takes no new entries (an operator's pause or the risk guardian).",
            thresholds=[(None, "green"), (1, "orange")],
        ),
        panel(
            "Failed cycles and risk triggers",
            [
                (
                    f"sum by (account, config) (increase(perparb_run_cycle_failures_total{RUN}[1h]))",
                    "failed cycles/h {{account}}",
                ),
                (
                    f"sum by (account, limit, action) (increase(perparb_risk_triggers_total{RUN}[1h]))",
                    "{{limit}} -> {{action}} {{account}}",
                ),
            ],
            width=12,
        ),
        row("Legs"),
        panel(
            "Liquidation distance per leg",
            [(f"perparb_leg_liquidation_distance_ratio{LEG}", "{{account}} {{venue}} {{symbol}}")],
            unit="percentunit",
            width=12,
            description="|mark - liquidation price| / mark: how far the price may move before the leg is liquidated.",
            thresholds=[(None, "red"), (0.1, "orange"), (0.25, "green")],
        ),
        panel(
            "Margin ratio per leg",
            [(f"perparb_leg_margin_ratio{LEG}", "{{account}} {{venue}} {{symbol}}")],
            unit="percentunit",
            width=12,
            description="Margin held as a fraction of the leg's notional (1 / effective leverage).",
        ),
        row("Execution"),
        panel(
            "Order round trip per venue",
            [
                (
                    "histogram_quantile(0.95, sum by (venue, le) (rate(perparb_order_round_trip_seconds_bucket[15m])))",
                    "p95 {{venue}}",
                ),
                (
                    "sum by (venue) (rate(perparb_order_round_trip_seconds_sum[15m])) / sum by (venue) (rate(perparb_order_round_trip_seconds_count[15m]))",
                    "mean {{venue}}",
                ),
            ],
            unit="s",
        ),
        panel(
            "Entry leg gap",
            [
                (
                    "histogram_quantile(0.95, sum by (le) (rate(perparb_entry_leg_gap_seconds_bucket[1h])))",
                    "p95",
                ),
                (
                    "rate(perparb_entry_leg_gap_seconds_sum[1h]) / rate(perparb_entry_leg_gap_seconds_count[1h])",
                    "mean",
                ),
            ],
            unit="s",
            description="Gap between the two legs of an entry reaching their venues.",
        ),
        panel(
            "Hedges and unwinds per hour",
            [
                (f"sum by (account) (increase(perparb_hedges_total{RUN}[1h]))", "hedges {{account}}"),
                (f"sum by (account) (increase(perparb_unwinds_total{RUN}[1h]))", "unwinds {{account}}"),
            ],
            description="Orders the two-leg executor sent to repair an entry: a leg hedged, or an entry unwound.",
        ),
        row("Alerts"),
        panel(
            "Alerts per hour by event and delivery",
            [("sum by (event, status) (increase(perparb_alerts_total[1h]))", "{{event}} {{status}}")],
            width=24,
            description="status: sent, failed (gave up), suppressed (duplicate), unrouted (no PERPARB_ALERT_URLS).",
        ),
    ]


def dashboard() -> dict[str, Any]:
    global _next_id
    _next_id = 0
    return {
        "uid": "perparb-overview",
        "title": "perparb",
        "description": "Funding-rate collection, runs, legs, execution and alerts (perparb_core/metrics.py).",
        "tags": ["perparb"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "account",
                    "label": "account",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "query": {"query": "label_values(perparb_run_equity_usd, account)", "refId": "accounts"},
                    "definition": "label_values(perparb_run_equity_usd, account)",
                    "includeAll": True,
                    "multi": True,
                    "allValue": ".*",
                    "current": {"text": "All", "value": "$__all"},
                    "refresh": 2,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": layout(panels()),
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(dashboard(), indent=2) + "\n")
