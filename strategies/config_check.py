"""`perparb config validate`: a config's summary, and the checks that need the database.

The file itself is validated by `strategies.config.load_config` (unknown keys, bad values: `ConfigError`). These
checks then compare it with what the database knows (best-effort: the CLI skips them with a note when the
database cannot be reached):

* `--account NAME`: the account exists ("unknown account 'x'") and has credentials for every venue the config
  trades ("account 'x' has no credentials for paradex (it has ['lighter'])"). Read from `accounts` /
  `account_credentials` without decrypting anything.
* leverage (`sizing.leverage` for funding arbitrage, `leverage` for grid) is not above any venue's maximum for
  the config's symbols, from the `markets` table (`max_leverage`, filled by `perparb collect`):
  "sizing.leverage: 60 is above lighter's maximum 50 for ETH".
* symbols the config lists that no venue of the config lists are reported ("symbols: XYZ is not listed on
  lighter or paradex"; grid: "symbol: XYZ is not listed on lighter"). A funding-arbitrage symbol listed on only
  one venue is a note (no pair to trade).

A venue with no market stored (never collected, or a backtest-only venue) cannot be checked: that is a note, not
an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange_clients.registry import venue_names
from strategies.config import FundingArbitrageConfig, GridConfig, StrategyConfig


@dataclass
class CheckResult:
    """`errors`: problems that make the config unusable (exit 2); `notes`: what could not be checked, warnings."""

    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _num(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def config_summary(config: StrategyConfig) -> dict[str, Any]:
    """The key facts of a config, JSON-ready (decimals as strings)."""
    out: dict[str, Any] = {
        "strategy": config.strategy,
        "name": config.name,
        "venues": list(config.venues),
        "on_stop": config.on_stop,
        "loop_interval_seconds": _num(config.loop_interval_seconds),
    }
    if isinstance(config, FundingArbitrageConfig):
        out.update(
            symbols=config.symbols,
            signal=config.signal.estimator,
            half_life_hours=_num(config.signal.half_life_hours),
            min_signal_apr=_num(config.entry.min_signal_apr),
            min_net_apr=_num(config.entry.min_net_apr),
            min_stability=_num(config.entry.min_stability),
            exit_signal_apr=_num(config.exit.exit_signal_apr),
            horizon_hours=_num(config.entry.horizon_hours),
            target_notional_usd=_num(config.sizing.target_notional_usd),
            leverage=_num(config.sizing.leverage),
            max_positions=config.sizing.max_positions,
            max_exposure_per_venue_usd=_num(config.sizing.max_exposure_per_venue_usd),
            max_total_exposure_usd=_num(config.sizing.max_total_exposure_usd),
            max_slippage_bps=_num(config.sizing.max_slippage_bps),
            max_hold_hours=_num(config.exit.max_hold_hours),
            execution_mode=config.execution.mode,
        )
    else:
        out.update(
            symbol=config.symbol,
            lower_price=_num(config.lower_price),
            upper_price=_num(config.upper_price),
            levels=len(config.level_prices()),
            quantity_per_level=_num(config.quantity_per_level),
            max_position=_num(config.max_position),
            leverage=_num(config.leverage),
            stop_price_low=_num(config.stop_price_low),
            stop_price_high=_num(config.stop_price_high),
        )
    return out


def _leverage_field(config: StrategyConfig) -> tuple[str, Decimal]:
    if isinstance(config, GridConfig):
        return "leverage", config.leverage
    return "sizing.leverage", config.sizing.leverage


def _or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


async def check_account(conn: AsyncConnection, config: StrategyConfig, account: str) -> list[str]:
    """Errors for an unknown account or one without credentials for a venue of the config (no secret read)."""
    row = (await conn.execute(text("SELECT id FROM accounts WHERE name = :n"), {"n": account})).first()
    if row is None:
        return [f"unknown account {account!r}: `perparb accounts list-accounts` shows the accounts"]
    have = sorted(
        (
            await conn.execute(
                text("SELECT venue FROM account_credentials WHERE account_id = :a"), {"a": row.id}
            )
        ).scalars()
    )
    missing = [v for v in config.traded_venues if v not in have]
    if missing:
        return [f"account {account!r} has no credentials for {_or(missing)} (it has {have})"]
    return []


async def check_markets(conn: AsyncConnection, config: StrategyConfig) -> CheckResult:
    """Leverage against each venue's maximum and listed symbols, from the `markets` table."""
    result = CheckResult()
    venues = list(config.venues)
    rows = (
        await conn.execute(
            text(
                "SELECT v.name AS venue, m.symbol, m.max_leverage FROM markets m JOIN venues v ON v.id = m.venue_id "
                "WHERE v.name = ANY(:venues)"
            ),
            {"venues": venues},
        )
    ).all()
    listed: dict[str, dict[str, Decimal | None]] = {v: {} for v in venues}
    for r in rows:
        current = listed[r.venue].get(r.symbol.upper())
        # several markets of one base asset on a venue: the smallest maximum binds
        if r.symbol.upper() not in listed[r.venue] or (
            r.max_leverage is not None and (current is None or r.max_leverage < current)
        ):
            listed[r.venue][r.symbol.upper()] = r.max_leverage
    known = [v for v in venues if listed[v]]
    installed = venue_names()
    for v in venues:
        if listed[v]:
            continue
        if v in installed:
            result.notes.append(
                f"no {v} markets in the database (run `perparb collect --once`): leverage and symbols not checked "
                f"on {v}"
            )
        else:
            result.notes.append(
                f"{v} is a backtest-only venue (replayed from funding-history files, never collected or traded): "
                "leverage and symbols not checked on it"
            )
    if not known:
        return result
    name, leverage = _leverage_field(config)
    if isinstance(config, GridConfig):
        symbols = [config.symbol.upper()]
        if config.venue in known and symbols[0] not in listed[config.venue]:
            result.errors.append(f"symbol: {config.symbol} is not listed on {config.venue}")
    elif config.symbols is not None:
        symbols = [s.upper() for s in config.symbols]
        for s in symbols:
            on = [v for v in known if s in listed[v]]
            if not on:
                result.errors.append(f"symbols: {s} is not listed on {_or(known)}")
            elif len(on) == 1 and len(venues) > 1:
                result.notes.append(f"symbols: {s} is listed only on {on[0]}: no pair to trade")
    else:
        symbols = []
        result.notes.append(f"{name}: no symbols listed; each market's maximum is checked at entry")
    for s in symbols:
        for v in known:
            cap = listed[v].get(s)
            if cap is not None and leverage > cap:
                result.errors.append(f"{name}: {_num(leverage)} is above {v}'s maximum {_num(cap)} for {s}")
    return result


async def check_config(
    conn: AsyncConnection, config: StrategyConfig, *, account: str | None = None
) -> CheckResult:
    """Every database check (module docstring); read-only."""
    result = await check_markets(conn, config)
    if account is not None:
        result.errors[:0] = await check_account(conn, config, account)
    return result


__all__ = ["CheckResult", "check_account", "check_config", "check_markets", "config_summary"]
