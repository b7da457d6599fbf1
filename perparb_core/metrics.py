"""Prometheus metrics of perparb: every series the processes export, defined once (prometheus-client).

Each process (`perparb collect`, `perparb run`, `perparb serve`) records into the default registry of
`prometheus_client`; the app exposes it (`/metrics` on the API, `--metrics-port` on collect and run). Names carry
their unit (`_seconds`, `_usd`, `_ratio`, `_total` for counters), values are floats in those units; ratios are
fractions (0.12 = 12 %), never percent.

Label cardinality is bounded by what an operator configures, never by market data:

| label | values | bound |
|---|---|---|
| `venue` | installed venues (`exchange_clients.registry.venue_names`) | ~5 |
| `kind` | `ERROR_KINDS` | 6 |
| `account`, `config` | accounts and config names of the runs this process hosts | one run per process in practice |
| `symbol` | base assets of OPEN legs only: a leg's series are removed when its position closes (`clear_legs`) | max open positions x 2 |
| `limit`, `action` | `RISK_LIMITS` x `RISK_ACTIONS` | 5 x 4 |
| `event`, `status` | alert events x alert statuses (`database.alerts`) | ~14 x 5 |

A library did not fit the registry of names (`METRICS`): prometheus-client's own registry also holds process and
platform collectors, and the Grafana dashboard test needs exactly the series perparb defines.

Raises nothing; recording helpers never fail a trading path (prometheus-client's operations are in-memory).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.metrics import MetricWrapperBase

from perparb_core.errors import (
    DataError,
    VenueAuthError,
    VenueDataError,
    VenueRateLimitedError,
    VenueRejectedError,
    VenueUnavailableError,
)

disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus-client leaves it unannotated; no `_created` series: they double every counter and histogram for no use here

ERROR_KINDS = ("unavailable", "rate_limited", "rejected", "auth", "data", "other")
"""The `kind` label of `perparb_venue_errors_total`: the venue error hierarchy of `perparb_core.errors`."""

RISK_LIMITS = (
    "max_drawdown_usd",
    "max_consecutive_failed_cycles",
    "max_net_delta_usd",
    "min_liquidation_distance",
    "max_daily_loss_usd",
)
RISK_ACTIONS = ("alert", "pause_entries", "reduce", "flatten")

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

# --------------------------------------------------------------------------------------------- collection
COLLECTOR_CYCLE_SECONDS = Histogram(
    "perparb_collector_cycle_duration_seconds",
    "Wall time of one collection cycle (fetch every venue, store in one transaction), seconds.",
    buckets=_CYCLE_BUCKETS,
)
COLLECTOR_ROWS = Gauge(
    "perparb_collector_cycle_rows",
    "Funding-rate rows the last collection cycle stored, per venue.",
    ["venue"],
)
COLLECTOR_ROWS_TOTAL = Counter(
    "perparb_collector_rows_total",
    "Funding-rate rows stored since the process started, per venue.",
    ["venue"],
)
VENUE_ERRORS = Counter(
    "perparb_venue_errors_total",
    "Venue errors seen by the collector and the runs, by venue and kind (ERROR_KINDS).",
    ["venue", "kind"],
)
DATA_AGE_SECONDS = Gauge(
    "perparb_data_age_seconds",
    "Age of the newest stored funding-rate row of a venue, seconds (refreshed each cycle and each scrape).",
    ["venue"],
)
BEST_OPPORTUNITY_NET_APR = Gauge(
    "perparb_best_opportunity_net_apr_ratio",
    "Net APR of the best-ranked opportunity under the default ranking (fraction per year; 0.1 = 10 %; NaN when "
    "nothing is ranked).",
)
OPPORTUNITIES = Gauge(
    "perparb_opportunities",
    "Directions the default ranking prices (fresh markets listed on two or more venues, any net APR).",
)

# ----------------------------------------------------------------------------------------------------- runs
RUN_OPEN_POSITIONS = Gauge("perparb_run_open_positions", "Open positions of a run.", ["account", "config"])
RUN_NOTIONAL_USD = Gauge(
    "perparb_run_notional_usd",
    "Absolute notional of a run's open legs on a venue, USD (quantity x mark price).",
    ["account", "config", "venue"],
)
RUN_FUNDING_USD = Gauge(
    "perparb_run_funding_accrued_usd",
    "Funding a run's positions received (+) or paid (-) since the run started, USD.",
    ["account", "config"],
)
RUN_UNREALISED_PNL_USD = Gauge(
    "perparb_run_unrealised_pnl_usd",
    "Unrealised price PnL of a run's open legs at the venues' mark prices, USD.",
    ["account", "config"],
)
RUN_REALISED_PNL_USD = Gauge(
    "perparb_run_realised_pnl_usd",
    "Realised PnL of a run (closed positions, realised basis, fees paid as negative), USD.",
    ["account", "config"],
)
RUN_EQUITY_USD = Gauge(
    "perparb_run_equity_usd",
    "Run equity: funding + realised + unrealised PnL since the run started, USD.",
    ["account", "config"],
)
RUN_NET_DELTA_USD = Gauge(
    "perparb_run_net_delta_usd",
    "Signed sum of a run's leg notionals (long +, short -), USD: ~0 for a delta-neutral book.",
    ["account", "config"],
)
RUN_ENTRIES_PAUSED = Gauge(
    "perparb_run_entries_paused",
    "1 while a run takes no new entries (paused by an operator or the risk guardian), else 0.",
    ["account", "config"],
)
RUN_CYCLE_FAILURES = Counter(
    "perparb_run_cycle_failures_total",
    "Strategy cycles that failed on a venue error.",
    ["account", "config"],
)
RISK_TRIGGERS = Counter(
    "perparb_risk_triggers_total",
    "Risk-guardian limits breached, by limit and action taken.",
    ["account", "limit", "action"],
)

# ----------------------------------------------------------------------------------------------------- legs
LEG_MARGIN_RATIO = Gauge(
    "perparb_leg_margin_ratio",
    "Margin a leg holds as a fraction of its notional (1 / effective leverage), from the venue's position.",
    ["account", "venue", "symbol"],
)
LEG_LIQUIDATION_DISTANCE = Gauge(
    "perparb_leg_liquidation_distance_ratio",
    "|mark - liquidation price| / mark of a leg: the fraction the price may move before liquidation.",
    ["account", "venue", "symbol"],
)

# ------------------------------------------------------------------------------------------------ execution
ORDER_ROUND_TRIP_SECONDS = Histogram(
    "perparb_order_round_trip_seconds",
    "Time from handing an order to the venue client to the venue's answer, seconds.",
    ["venue"],
    buckets=_LATENCY_BUCKETS,
)
HEDGES = Counter("perparb_hedges_total", "Hedge orders the two-leg executor sent.", ["account"])
UNWINDS = Counter("perparb_unwinds_total", "Unwind orders the two-leg executor sent.", ["account"])
LEG_GAP_SECONDS = Histogram(
    "perparb_entry_leg_gap_seconds",
    "Gap between the two legs of an entry reaching their venues, seconds.",
    buckets=_LATENCY_BUCKETS,
)

# --------------------------------------------------------------------------------------------------- alerts
ALERTS = Counter(
    "perparb_alerts_total",
    "Alerts by event and final delivery status (sent, failed, suppressed, unrouted).",
    ["event", "status"],
)

METRICS: tuple[MetricWrapperBase, ...] = (
    COLLECTOR_CYCLE_SECONDS,
    COLLECTOR_ROWS,
    COLLECTOR_ROWS_TOTAL,
    VENUE_ERRORS,
    DATA_AGE_SECONDS,
    BEST_OPPORTUNITY_NET_APR,
    OPPORTUNITIES,
    RUN_OPEN_POSITIONS,
    RUN_NOTIONAL_USD,
    RUN_FUNDING_USD,
    RUN_UNREALISED_PNL_USD,
    RUN_REALISED_PNL_USD,
    RUN_EQUITY_USD,
    RUN_NET_DELTA_USD,
    RUN_ENTRIES_PAUSED,
    RUN_CYCLE_FAILURES,
    RISK_TRIGGERS,
    LEG_MARGIN_RATIO,
    LEG_LIQUIDATION_DISTANCE,
    ORDER_ROUND_TRIP_SECONDS,
    HEDGES,
    UNWINDS,
    LEG_GAP_SECONDS,
    ALERTS,
)


def exported_names() -> set[str]:
    """Every sample name perparb exports (a counter `x_total` is `x_total`; a histogram `h` exports `h_bucket`,
    `h_sum`, `h_count`): what a dashboard or alert rule may reference."""
    out: set[str] = set()
    for metric in METRICS:
        for family in metric.describe():
            if family.type == "histogram":
                out.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
            elif family.type == "counter":
                out.add(f"{family.name}_total")
            else:
                out.add(family.name)
    return out


def error_kind(exc: BaseException) -> str:
    """The `kind` label of a venue error (one of ERROR_KINDS)."""
    if isinstance(exc, VenueRateLimitedError):
        return "rate_limited"
    if isinstance(exc, VenueAuthError):
        return "auth"
    if isinstance(exc, VenueRejectedError):
        return "rejected"
    if isinstance(exc, (VenueDataError, DataError)):
        return "data"
    if isinstance(exc, (VenueUnavailableError, asyncio.TimeoutError, TimeoutError, OSError)):
        return "unavailable"
    return "other"


def count_venue_error(venue: str, exc: BaseException) -> None:
    """Count one error of `venue` under its kind."""
    VENUE_ERRORS.labels(venue=venue, kind=error_kind(exc)).inc()


def clear_legs(account: str, keep: Iterable[tuple[str, str]] = ()) -> None:
    """Remove the leg series of `account` except the (venue, symbol) pairs in `keep` (legs still open), so the
    `symbol` label never outlives a position."""
    kept = set(keep)
    for gauge in (LEG_MARGIN_RATIO, LEG_LIQUIDATION_DISTANCE):
        for labels in _label_sets(gauge):
            if labels[0] == account and (labels[1], labels[2]) not in kept:
                gauge.remove(*labels)


def clear_run(account: str, config: str) -> None:
    """Remove a finished run's series (its gauges would otherwise report the last values forever)."""
    for gauge in (
        RUN_OPEN_POSITIONS,
        RUN_FUNDING_USD,
        RUN_UNREALISED_PNL_USD,
        RUN_REALISED_PNL_USD,
        RUN_EQUITY_USD,
        RUN_NET_DELTA_USD,
        RUN_ENTRIES_PAUSED,
    ):
        for labels in _label_sets(gauge):
            if labels == (account, config):
                gauge.remove(*labels)
    for labels in _label_sets(RUN_NOTIONAL_USD):
        if labels[:2] == (account, config):
            RUN_NOTIONAL_USD.remove(*labels)
    clear_legs(account)


def _label_sets(metric: MetricWrapperBase) -> list[tuple[str, ...]]:
    """The label-value tuples a labelled gauge currently holds, in label order (read from its public
    `collect()`: a gauge sample's labels are exactly its label names, in order)."""
    seen: dict[tuple[str, ...], None] = {}
    for family in metric.collect():
        for sample in family.samples:
            seen.setdefault(tuple(sample.labels.values()), None)
    return list(seen)
