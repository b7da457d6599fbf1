"""Walk-forward research: a grid of config variations evaluated on a training window, the best reported on a
later test window (`perparb sweep`).

Every evaluation is `backtest.engine.run_backtest` on the config with the grid's values applied: the same
decision code as live trading (`decision.choose_entries`, `decision.exit_decision`, `signals`), no second engine.

* Grid file: a YAML mapping of dotted config paths to lists of values, e.g.
  `{entry.min_signal_apr: [0.08, 0.12], signal.half_life_hours: [48, 72]}`; every combination is evaluated
  (cartesian product, in the file's key order). A scalar counts as a one-value list.
* Windows: `from` and `to` are decision times as for `perparb backtest --from/--to` (inclusive; a date is 00:00
  UTC). The test window may start where the training window ends (that shared hour's decisions use nothing of
  the test window), never before.
* Selection: the best training value of the objective (a metric of `backtest --json`, maximised); ties keep the
  grid order. The test window is evaluated for the best `top` combinations only, after the choice: it never
  decides anything.
* Metrics: the scalar figures of `backtest --json` (same names), plus the daily Sharpe / Sortino and the
  signal-vs-realised correlation of its diagnostics.
* Speed: the history is loaded once; `PreparedHistory` (legs, signal series per signal setting, pricing memo)
  is built in the parent for every signal setting of the grid and inherited by the worker processes (fork), so
  a worker only replays.

Errors (`SweepError`, one line naming the field and value, raised before any evaluation): a grid key that is
not a config path, a value failing validation, an empty value list, an unknown objective, windows out of the
history's range, empty, or overlapping.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from backtest.engine import (
    BacktestOptions,
    BacktestResult,
    PreparedHistory,
    run_backtest,
)
from backtest.loader import US_PER_HOUR, FundingHistory, us_from_utc, utc_from_us
from backtest.report import BacktestReport, build_report
from perparb_core.errors import ConfigError
from strategies.config import FundingArbitrageConfig, parse_config
from strategies.funding_arbitrage.decision import signal_params

OBJECTIVES = (
    "net_apr_on_budget",
    "net_pnl_usd",
    "net_apr_on_occupied_capital",
    "sharpe",
    "sortino",
)
"""Metrics a sweep may maximise."""

METRICS = (
    "net_apr_on_budget",
    "net_pnl_usd",
    "net_funding_usd",
    "funding_received_usd",
    "funding_paid_usd",
    "fees_usd",
    "slippage_usd",
    "net_apr_on_occupied_capital",
    "entries",
    "exits",
    "exits_by_reason",
    "avg_holding_hours",
    "median_holding_hours",
    "time_in_market",
    "max_drawdown_usd",
    "max_drawdown_fraction",
    "entries_blocked_by_budget",
    "start",
    "end",
    "run_hours",
)
"""Figures copied from `BacktestReport.to_json_dict` (the names of `backtest --json`)."""


class SweepError(ValueError):
    """A sweep that cannot start; `str()` is one line naming the field and value."""


@dataclass(frozen=True, slots=True)
class Window:
    """Decision times from `start` to `end`, inclusive (aware UTC, on the hour)."""

    name: str
    start: datetime
    end: datetime

    def to_json_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


@dataclass(slots=True)
class Evaluation:
    """One combination: its grid values, training metrics and (for the best `top`) test metrics."""

    index: int
    params: dict[str, Any]
    train: dict[str, Any]
    test: dict[str, Any] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {"params": self.params, "train": self.train, "test": self.test}


@dataclass(slots=True)
class SweepResult:
    objective: str
    train_window: Window
    test_window: Window
    evaluated: int
    ranked: list[Evaluation]
    best: Evaluation
    keys: list[str]

    def to_json_dict(self) -> dict[str, Any]:
        """{objective, train_window, test_window, evaluated, results: [{params, train, test}], best}."""
        return {
            "objective": self.objective,
            "train_window": self.train_window.to_json_dict(),
            "test_window": self.test_window.to_json_dict(),
            "evaluated": self.evaluated,
            "results": [e.to_json_dict() for e in self.ranked],
            "best": self.best.to_json_dict(),
        }


# ---------------------------------------------------------------------------------------------------- grid


def _plain(value: Any) -> Any:
    """A config value as YAML would give it (Decimal -> str keeps every digit)."""
    if isinstance(value, Decimal):
        return str(value)
    return value


def config_paths(model: type[BaseModel] = FundingArbitrageConfig, prefix: str = "") -> list[str]:
    """Every dotted field path of the config model (nested models expanded), sorted."""
    out: list[str] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            out.extend(config_paths(sub, path + "."))
        else:
            out.append(path)
    return sorted(out)


def load_grid(path: Path) -> dict[str, list[Any]]:
    """Read a grid file: {dotted config path: [values]} in file order.

    Raises:
        SweepError: unreadable file, not a mapping, a key that is not a config path, an empty list.
    """
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SweepError(f"--grid {path}: no such file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SweepError(
            f"--grid {path}: invalid YAML{f' at line {mark.line + 1}' if mark else ''}"
        ) from None
    return check_grid(data, source=f"--grid {path}")


def check_grid(data: Any, *, source: str = "grid") -> dict[str, list[Any]]:
    """Validate a decoded grid (see `load_grid`)."""
    if not isinstance(data, dict) or not data:
        raise SweepError(f"{source}: expected a non-empty mapping of dotted config paths to lists of values")
    known = set(config_paths())
    out: dict[str, list[Any]] = {}
    for key, values in data.items():
        if not isinstance(key, str) or key not in known:
            parent = str(key).rsplit(".", 1)[0] if "." in str(key) else ""
            near = sorted(k for k in known if parent and k.startswith(parent + "."))
            hint = f"; {parent} has {', '.join(near)}" if near else ""
            raise SweepError(f"{source}: {key}: not a config path{hint}")
        listed = values if isinstance(values, list) else [values]
        if not listed:
            raise SweepError(f"{source}: {key}: empty list of values")
        out[key] = listed
    return out


def combinations(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (cartesian product, keys in grid order, last key fastest)."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def apply(base: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the config document `base` with each dotted path set to its value (sections created)."""
    out: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for path, value in params.items():
        node = out
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            child = dict(child) if isinstance(child, dict) else {}
            node[part] = child
            node = child
        node[parts[-1]] = value
    return out


def config_document(config: FundingArbitrageConfig) -> dict[str, Any]:
    """The config as a YAML-like document: only the fields the file set (so a grid value for a section is not
    fighting defaults), Decimals as strings."""
    data = config.model_dump(mode="python", exclude_unset=True)

    def plain(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, list):
            return [plain(v) for v in x]
        return _plain(x)

    result: dict[str, Any] = plain(data)
    return result


def build_configs(
    base: FundingArbitrageConfig, grid: Mapping[str, Sequence[Any]]
) -> tuple[list[dict[str, Any]], list[FundingArbitrageConfig]]:
    """(combinations, validated configs), in grid order.

    Raises:
        SweepError: a combination fails validation: the message names the grid values and the field.
    """
    document = config_document(base)
    combos = combinations(grid)
    configs: list[FundingArbitrageConfig] = []
    for params in combos:
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
        try:
            cfg = parse_config(apply(document, params), source="grid")
        except ConfigError as exc:
            raise SweepError(f"{exc} [with {shown}]") from None
        if not isinstance(cfg, FundingArbitrageConfig):
            raise SweepError(f"grid: strategy: the sweep evaluates funding_arbitrage configs [with {shown}]")
        configs.append(cfg)
    return combos, configs


# ------------------------------------------------------------------------------------------------- windows


def history_range(history: FundingHistory, venues: Sequence[str]) -> tuple[datetime, datetime]:
    """(first, last) decision hour the history of `venues` allows (the backtester's default range)."""
    markets = [m for (v, _), m in history.markets.items() if v in set(venues) and m.ts_us]
    if not markets:
        raise SweepError(f"--history: no settlement for the config's venues {list(venues)}")
    first = min(m.ts_us[0] for m in markets)
    last = max(m.ts_us[-1] for m in markets)
    return (
        utc_from_us(-(-first // US_PER_HOUR) * US_PER_HOUR),
        utc_from_us(last // US_PER_HOUR * US_PER_HOUR),
    )


def check_windows(train: Window, test: Window, available: tuple[datetime, datetime]) -> None:
    """Raises SweepError (naming the option and value) for an empty window, a bound more than a day outside the
    history (bounds within a day of it are clamped to it, as `backtest` does), or a test window starting before
    the training window ends."""
    first, last = available
    slack = timedelta(days=1)
    for w in (train, test):
        opt = f"--{w.name}"
        if w.end < w.start:
            raise SweepError(f"{opt}-to: {w.end.isoformat()} is before {opt}-from {w.start.isoformat()}")
        span = f"the history runs {first.isoformat()} .. {last.isoformat()}"
        if not first - slack <= w.start <= last:
            raise SweepError(f"{opt}-from: {w.start.isoformat()} is outside the history ({span})")
        if not first <= w.end <= last + slack:
            raise SweepError(f"{opt}-to: {w.end.isoformat()} is outside the history ({span})")
    if test.start < train.end:
        raise SweepError(
            f"--test-from: {test.start.isoformat()} overlaps the training window (ends {train.end.isoformat()}); "
            "the test window must start at or after --train-to"
        )


# --------------------------------------------------------------------------------------------- evaluation


def metrics_of(report: BacktestReport) -> dict[str, Any]:
    """The sweep's figures of one run (names of `backtest --json`)."""
    data = report.to_json_dict()
    out = {k: data[k] for k in METRICS}
    diag = report.diagnostics
    out["sharpe"] = None if diag is None else diag.sharpe
    out["sortino"] = None if diag is None else diag.sortino
    out["signal_realised_correlation"] = None if diag is None else diag.signal_realised_correlation
    out["slippage_sensitivity"] = None if diag is None else data["diagnostics"]["slippage_sensitivity"]
    return out


@dataclass(slots=True)
class _Job:
    configs: list[FundingArbitrageConfig]
    history: FundingHistory
    prepared: PreparedHistory
    budget_usd_per_venue: Decimal | None


_JOB: _Job | None = None
"""The job the worker processes inherit (fork): set in the parent before the pool starts."""


def _evaluate(task: tuple[int, datetime, datetime]) -> tuple[int, dict[str, Any]]:
    index, start, end = task
    job = _JOB
    assert job is not None, "sweep worker started without its job"
    result: BacktestResult = run_backtest(
        job.configs[index],
        job.history,
        BacktestOptions(start=start, end=end, budget_usd_per_venue=job.budget_usd_per_venue),
        prepared=job.prepared,
    )
    return index, metrics_of(build_report(result))


def _run_tasks(
    tasks: list[tuple[int, datetime, datetime]], jobs: int, progress: Callable[[int], None] | None
) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            index, metrics = _evaluate(task)
            out[index] = metrics
            if progress is not None:
                progress(1)
        return out
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        for index, metrics in pool.map(_evaluate, tasks, chunksize=max(1, min(8, len(tasks) // (4 * jobs)))):
            out[index] = metrics
            if progress is not None:
                progress(1)
    return out


def _objective_value(metrics: Mapping[str, Any], objective: str) -> float:
    value = metrics.get(objective)
    return float("-inf") if value is None else float(value)


def run_sweep(
    base: FundingArbitrageConfig,
    grid: Mapping[str, Sequence[Any]],
    history: FundingHistory,
    train: Window,
    test: Window,
    *,
    objective: str = "net_apr_on_budget",
    jobs: int = 1,
    top: int = 10,
    budget_usd_per_venue: Decimal | None = None,
    prepared: PreparedHistory | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> SweepResult:
    """Evaluate every combination on `train`, rank by `objective`, evaluate the best `top` on `test`.

    Args:
        progress: called as progress(phase "train" | "test", done, total).

    Raises:
        SweepError: bad grid, value, objective or windows (before any evaluation).
        BacktestError: a run that cannot start (e.g. no asset on two venues).
    """
    global _JOB
    if objective not in OBJECTIVES:
        raise SweepError(f"--objective: {objective!r} is not one of {', '.join(OBJECTIVES)}")
    if jobs < 1:
        raise SweepError(f"--jobs: {jobs} must be at least 1")
    if top < 1:
        raise SweepError(f"--top: {top} must be at least 1")
    combos, configs = build_configs(base, grid)
    check_windows(train, test, history_range(history, base.venues))
    prepared = prepared or PreparedHistory(history)
    prepare_signals(prepared, history, configs, train, budget_usd_per_venue)
    _JOB = _Job(configs, history, prepared, budget_usd_per_venue)
    try:
        done = [0]

        def tick(phase: str, total: int) -> Callable[[int], None]:
            def step(n: int) -> None:
                done[0] += n
                if progress is not None:
                    progress(phase, done[0], total)

            return step

        train_tasks = [(i, train.start, train.end) for i in range(len(configs))]
        trained = _run_tasks(train_tasks, jobs, tick("train", len(train_tasks)))
        order = sorted(range(len(configs)), key=lambda i: (-_objective_value(trained[i], objective), i))
        chosen = order[: min(top, len(order))]
        done[0] = 0
        test_tasks = [(i, test.start, test.end) for i in chosen]
        tested = _run_tasks(test_tasks, jobs, tick("test", len(test_tasks)))
    finally:
        _JOB = None
    ranked = [Evaluation(i, combos[i], trained[i], tested.get(i)) for i in chosen]
    return SweepResult(
        objective=objective,
        train_window=train,
        test_window=test,
        evaluated=len(configs),
        ranked=ranked,
        best=ranked[0],
        keys=list(grid),
    )


def prepare_signals(
    prepared: PreparedHistory,
    history: FundingHistory,
    configs: Sequence[FundingArbitrageConfig],
    train: Window,
    budget: Decimal | None,
) -> None:
    """Build in the parent what every worker reads (inherited by fork): the legs and, per distinct signal
    setting, the pair series over the whole history. A one-hour run per setting does exactly that."""
    seen: set[Any] = set()
    for cfg in configs:
        key = (signal_params(cfg), tuple(cfg.venues), None if cfg.symbols is None else tuple(cfg.symbols))
        if key in seen:
            continue
        seen.add(key)
        hour = max(train.start, history_range(history, cfg.venues)[0])
        run_backtest(
            cfg,
            history,
            BacktestOptions(start=hour, end=hour, budget_usd_per_venue=budget),
            prepared=prepared,
        )


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def window(name: str, start: datetime, end: datetime) -> Window:
    """A `Window` whose bounds are aware UTC datetimes (the CLI's parsed dates).

    Raises:
        SweepError: a bound not on the hour (decisions are taken on the hour).
    """
    for label, when in (("from", start), ("to", end)):
        if us_from_utc(when) % US_PER_HOUR:
            raise SweepError(f"--{name}-{label}: {when.isoformat()} is not on the hour")
    return Window(name, start, end)
