"""Settled funding history for the backtester, normalised and indexed per market.

Sources:

* parquet files in the format of ../shared/funding-history (SOURCES.md there): a directory of `*.parquet`
  (and/or `*.csv`) files, or one file. One row per settlement, columns `venue, venue_symbol, canonical_symbol,
  settlement_ts, rate_raw, interval_hours` (required) and `mark_price, open_interest_usd, volume_24h_usd,
  is_predicted` (optional; other columns are ignored).
* CSV files with the same columns (header row; `settlement_ts` ISO-8601 with an offset or `Z`; empty cell =
  null).
* the project's database: `funding_rate_samples` of kind 'settled' joined to markets and venues
  (`load_history_db`, after `perparb backfill`).

Units (DESIGN.md "Units", the funding-history row of the table): `rate_raw` is a signed fraction per
`interval_hours` (never percent), positive when longs pay shorts; `rate_hourly = units.hourly_from_period(
rate_raw, interval_hours)`. Each row keeps its OWN settlement time and interval: one symbol may change interval
mid-year (Binance ORDI/TIA/WIF 4 h -> 8 h -> 4 h on 2026-06-24, Bybit INJUSDT 8 h -> 1 h -> 8 h in Feb 2026,
TSLAUSDT 4 h -> 8 h). The cash a position pays or receives at a settlement is `notional * rate_raw` of that
row (the engine never re-derives it from `rate_hourly * hours`).

Venues are matched on the BASE asset: canonical_symbol "BTC-USDT-PERP" (Binance) and "BTC-USDC-PERP"
(Hyperliquid) are both "BTC". When a venue lists several markets of one base asset (Binance BTCUSDT and
BTCUSDC; Bybit BTCUSDT and BTCPERP), `FundingHistory.primary_markets` picks one (see there).

Bad rows are rejected with `perparb_core.models.reject` (logged at WARNING with the field, value and
reason) and never stored as zero; the rest of the file is kept:

* a required field missing, empty or not a number (rate, interval, timestamp), an interval <= 0;
* a naive timestamp (no UTC offset: the time zone would be a guess);
* `is_predicted` true (a prediction is not a settlement);
* |rate_hourly| > 0.04: above the highest funding cap of the three venues (Hyperliquid caps funding at 4 % per
  hour, hyperliquid.gitbook.io "Funding"); almost surely a percent read as a fraction;
* a second row for the same (venue, venue_symbol, settlement_ts) (the first one, in file order, is kept).

An optional field (mark price, open interest, volume) that is present but invalid (0, negative, not a
number) is rejected as a field (logged, counted in `rejections`) and stored as None; the row's funding is kept.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from perparb_core import units
from perparb_core.errors import DataError
from perparb_core.models import Rejection, reject, reject_unit_error

log = logging.getLogger("perparb.backtest")

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US_PER_SECOND = 1_000_000
US_PER_HOUR = 3600 * US_PER_SECOND
HOURS_PER_YEAR = Decimal(8760)

REQUIRED_COLUMNS = (
    "venue",
    "venue_symbol",
    "canonical_symbol",
    "settlement_ts",
    "rate_raw",
    "interval_hours",
)
OPTIONAL_COLUMNS = ("mark_price", "open_interest_usd", "volume_24h_usd", "is_predicted")
OPTIONAL_NUMBERS = ("mark_price", "open_interest_usd", "volume_24h_usd")

MAX_ABS_RATE_HOURLY = Decimal("0.04")
"""Hyperliquid's cap (4 % per hour) is the highest of the three venues'; a larger |rate_hourly| is refused."""

QUOTE_PREFERENCE = ("USDT", "USDC", "USD")
"""Primary market per (venue, base asset): the first quote found in this order (USDT-margined contracts are the
deepest on Binance and Bybit), then the most settlements, then the venue symbol alphabetically."""

DB_SOURCE = "db"
"""`--history db`: read the project's database instead of files."""


class HistoryError(DataError):
    """A history source that cannot be read at all (missing path, no files, unreadable file, a required column
    missing, a naive timestamp column). Row-level problems are rejections, not errors."""


def utc_from_us(us: int) -> datetime:
    """Epoch microseconds -> aware UTC datetime (exact: no float rounding)."""
    return EPOCH + timedelta(microseconds=us)


def us_from_utc(when: datetime) -> int:
    """Aware datetime -> epoch microseconds.

    Raises:
        ValueError: for a naive datetime.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when!r}: must be timezone-aware (UTC)")
    return (when - EPOCH) // timedelta(microseconds=1)


def base_asset(canonical_symbol: str) -> str:
    """The base asset of a canonical symbol: "BTC-USDT-PERP" -> "BTC", "eth-usdc-perp" -> "ETH".

    Raises:
        units.UnitError: when the symbol or its base part is empty.
    """
    base = canonical_symbol.split("-", 1)[0].strip().upper()
    if not base:
        raise units.UnitError("canonical_symbol", canonical_symbol, "no base asset before the first '-'")
    return base


def quote_of(canonical_symbol: str) -> str:
    """The quote currency of a canonical symbol ("BTC-USDT-PERP" -> "USDT"); "" when there is none."""
    parts = canonical_symbol.split("-")
    return parts[1].strip().upper() if len(parts) > 1 else ""


@dataclass(slots=True)
class MarketHistory:
    """The accepted settlements of one market, oldest first, as parallel arrays (one index per settlement).

    Attributes:
        venue, venue_symbol, canonical_symbol: as in the source; symbol: the base asset ("BTC").
        ts_us: settlement times, epoch microseconds UTC, strictly increasing.
        rate_raw: signed fraction of notional paid at that settlement (per `interval_hours`), + = longs pay.
        interval_hours: the interval the row's rate covers (hours, > 0).
        rate_hourly: rate_raw / interval_hours, fraction per hour.
        mark_price: quote units; open_interest_usd, volume_24h_usd: USD; None when unknown.
    """

    venue: str
    venue_symbol: str
    canonical_symbol: str
    symbol: str
    ts_us: list[int] = field(default_factory=list)
    rate_raw: list[Decimal] = field(default_factory=list)
    interval_hours: list[Decimal] = field(default_factory=list)
    rate_hourly: list[Decimal] = field(default_factory=list)
    mark_price: list[Decimal | None] = field(default_factory=list)
    open_interest_usd: list[Decimal | None] = field(default_factory=list)
    volume_24h_usd: list[Decimal | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts_us)

    @property
    def quote(self) -> str:
        return quote_of(self.canonical_symbol)

    def settlement_time(self, i: int) -> datetime:
        """The i-th settlement time as an aware UTC datetime."""
        return utc_from_us(self.ts_us[i])


@dataclass(slots=True)
class FundingHistory:
    """Normalised settled funding history.

    Attributes:
        markets: (venue, venue_symbol) -> MarketHistory.
        rejections: every refused row (or optional field), with its reason (also logged).
        sources: the files (or "db") read.
        rows_read: rows seen in the sources for the selected venues (accepted + rejected rows).
    """

    markets: dict[tuple[str, str], MarketHistory] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    rows_read: int = 0

    @property
    def rows(self) -> int:
        """Accepted settlements."""
        return sum(len(m) for m in self.markets.values())

    def venues(self) -> list[str]:
        """Venues with at least one accepted settlement, sorted."""
        return sorted({v for v, _ in self.markets})

    def fields_present(self) -> frozenset[str]:
        """Optional numeric fields ("mark_price", "open_interest_usd", "volume_24h_usd") with at least one value
        anywhere in the data set. The engine disables an entry filter the data set cannot evaluate at all."""
        present = set()
        for name in OPTIONAL_NUMBERS:
            if any(any(v is not None for v in getattr(m, name)) for m in self.markets.values()):
                present.add(name)
        return frozenset(present)

    def primary_markets(
        self, venues: Iterable[str] | None = None, symbols: Iterable[str] | None = None
    ) -> dict[tuple[str, str], MarketHistory]:
        """One market per (venue, base asset): (venue, symbol) -> MarketHistory.

        Choice when a venue lists several markets of one base asset: the quote earliest in `QUOTE_PREFERENCE`
        (USDT, USDC, USD, then any other), then the most settlements, then the venue symbol alphabetically.
        """
        wanted_venues = None if venues is None else set(venues)
        wanted_symbols = None if symbols is None else {s.upper() for s in symbols}

        def rank(m: MarketHistory) -> tuple[int, int, str]:
            q = m.quote
            pref = QUOTE_PREFERENCE.index(q) if q in QUOTE_PREFERENCE else len(QUOTE_PREFERENCE)
            return (pref, -len(m), m.venue_symbol)

        out: dict[tuple[str, str], MarketHistory] = {}
        for (venue, _), m in sorted(self.markets.items()):
            if wanted_venues is not None and venue not in wanted_venues:
                continue
            if wanted_symbols is not None and m.symbol not in wanted_symbols:
                continue
            if not m.ts_us:
                continue
            key = (venue, m.symbol)
            held = out.get(key)
            if held is None or rank(m) < rank(held):
                out[key] = m
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-safe counts: sources, rows read / accepted / rejected, markets per venue, rejection reasons."""
        reasons: dict[str, int] = {}
        for r in self.rejections:
            key = f"{r.field}: {r.reason}"
            reasons[key] = reasons.get(key, 0) + 1
        per_venue: dict[str, int] = {}
        for venue, _ in self.markets:
            per_venue[venue] = per_venue.get(venue, 0) + 1
        return {
            "sources": list(self.sources),
            "rows_read": self.rows_read,
            "rows_accepted": self.rows,
            "rejections": len(self.rejections),
            "rejection_reasons": reasons,
            "markets_per_venue": per_venue,
        }


# ------------------------------------------------------------------------------------------ normalisation


_Row = tuple[int, Decimal, Decimal, Decimal, Decimal | None, Decimal | None, Decimal | None]
"""(ts_us, rate_raw, interval_hours, rate_hourly, mark_price, open_interest_usd, volume_24h_usd)."""

_TRUE = frozenset({"true", "1", "t", "yes"})
_FALSE = frozenset({"false", "0", "f", "no", ""})


class _Builder:
    """Validates rows one at a time and groups the accepted ones per market."""

    def __init__(self, venues: Iterable[str] | None) -> None:
        self.venues = None if venues is None else frozenset(venues)
        self.rows: dict[tuple[str, str], list[_Row]] = {}
        self.names: dict[tuple[str, str], tuple[str, str]] = {}  # -> (canonical_symbol, base)
        self.rejections: list[Rejection] = []
        self.rows_read = 0
        self._interval_cache: dict[tuple[type, Any], Decimal] = {}

    def wants(self, venue: Any) -> bool:
        return self.venues is None or venue in self.venues

    def _interval(self, value: Any) -> Decimal:
        key = (type(value), value)
        try:
            return self._interval_cache[key]
        except (KeyError, TypeError):
            pass
        dec = units.to_decimal(value, "interval_hours", allow_negative=False, allow_zero=False)
        try:
            self._interval_cache[key] = dec
        except TypeError:
            pass
        return dec

    def add(
        self,
        source: str,
        venue: Any,
        venue_symbol: Any,
        canonical: Any,
        ts_us: int | units.UnitError,
        rate_raw: Any,
        interval_hours: Any,
        mark_price: Any = None,
        open_interest_usd: Any = None,
        volume_24h_usd: Any = None,
        is_predicted: Any = None,
    ) -> None:
        """Validate one row; keep it or record a rejection. `ts_us` is the parsed settlement time or the
        UnitError that parsing it raised."""
        self.rows_read += 1
        vsym = venue_symbol if isinstance(venue_symbol, str) and venue_symbol.strip() else None
        vname = venue if isinstance(venue, str) and venue.strip() else "?"
        try:
            if vname == "?":
                raise units.UnitError("venue", venue, "missing")
            if vsym is None:
                raise units.UnitError("venue_symbol", venue_symbol, "missing")
            if not isinstance(canonical, str):
                raise units.UnitError("canonical_symbol", canonical, "missing")
            base = base_asset(canonical)
            if isinstance(ts_us, units.UnitError):
                raise ts_us
            predicted = _read_bool(is_predicted, "is_predicted")
            if predicted:
                raise units.UnitError("is_predicted", is_predicted, "a predicted rate is not a settlement")
            raw = units.to_decimal(rate_raw, "rate_raw")
            interval = self._interval(interval_hours)
            hourly = units.hourly_from_period(raw, interval)
            if abs(hourly) > MAX_ABS_RATE_HOURLY:
                raise units.UnitError(
                    "rate_raw",
                    rate_raw,
                    f"{hourly} per hour exceeds any venue's funding cap (4 %/h); a percent read as a fraction?",
                )
        except units.UnitError as exc:
            self.rejections.append(reject_unit_error(vname, source, vsym, exc))
            return
        optional: list[Decimal | None] = []
        for name, value in (
            ("mark_price", mark_price),
            ("open_interest_usd", open_interest_usd),
            ("volume_24h_usd", volume_24h_usd),
        ):
            try:
                dec = units.optional_decimal(value, name, allow_negative=False)
                if dec is not None and dec == 0 and name == "mark_price":
                    raise units.UnitError(name, value, "zero mark price means missing")
            except units.UnitError as exc:
                self.rejections.append(
                    reject(
                        vname, source, vsym, exc.field, exc.value, exc.reason + " (field dropped, row kept)"
                    )
                )
                dec = None
            optional.append(dec)
        key = (vname, vsym)
        self.names.setdefault(key, (canonical.strip(), base))
        self.rows.setdefault(key, []).append((ts_us, raw, interval, hourly, *optional))  # type: ignore[arg-type]

    def build(self, history: FundingHistory, source_of: dict[tuple[str, str], str]) -> None:
        """Sort each market's rows by time, reject duplicate settlement times, fill `history`."""
        for key, rows in self.rows.items():
            rows.sort(key=lambda r: r[0])  # stable: the first row in file order wins a tie
            canonical, base = self.names[key]
            m = history.markets.get(key)
            if m is None:
                m = history.markets[key] = MarketHistory(key[0], key[1], canonical, base)
            elif m.ts_us:
                # A second source for a market already loaded: merge and re-sort.
                old = list(
                    zip(
                        m.ts_us,
                        m.rate_raw,
                        m.interval_hours,
                        m.rate_hourly,
                        m.mark_price,
                        m.open_interest_usd,
                        m.volume_24h_usd,
                        strict=True,
                    )
                )
                rows = sorted(old + rows, key=lambda r: r[0])
                for arr in (
                    m.ts_us,
                    m.rate_raw,
                    m.interval_hours,
                    m.rate_hourly,
                    m.mark_price,
                    m.open_interest_usd,
                    m.volume_24h_usd,
                ):
                    arr.clear()
            last = None
            for row in rows:
                if row[0] == last:
                    self.rejections.append(
                        reject(
                            key[0],
                            source_of.get(key, "history"),
                            key[1],
                            "settlement_ts",
                            utc_from_us(row[0]).isoformat(),
                            "duplicate settlement for this market (the first row is kept)",
                        )
                    )
                    continue
                last = row[0]
                m.ts_us.append(row[0])
                m.rate_raw.append(row[1])
                m.interval_hours.append(row[2])
                m.rate_hourly.append(row[3])
                m.mark_price.append(row[4])
                m.open_interest_usd.append(row[5])
                m.volume_24h_usd.append(row[6])
        history.rejections.extend(self.rejections)
        history.rows_read += self.rows_read
        self.rows.clear()
        self.rejections = []
        self.rows_read = 0


def _read_bool(value: Any, name: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    if isinstance(value, int):
        return value != 0
    raise units.UnitError(name, value, "not a boolean")


def parse_timestamp(value: Any) -> int:
    """An ISO-8601 settlement time with a UTC offset (or `Z`) -> epoch microseconds.

    Raises:
        units.UnitError: missing, unparseable, or naive (no offset).
    """
    if isinstance(value, datetime):
        when = value
    else:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise units.UnitError("settlement_ts", value, "missing")
        if not isinstance(value, str):
            raise units.UnitError("settlement_ts", value, f"unexpected type {type(value).__name__}")
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise units.UnitError("settlement_ts", value, "not an ISO-8601 timestamp") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise units.UnitError("settlement_ts", value, "naive timestamp: no UTC offset")
    return us_from_utc(when)


# ------------------------------------------------------------------------------------------------- files


def _parquet_rows(path: Path, builder: _Builder) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise HistoryError(f"{path}: not a readable parquet file ({exc})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in schema.names]
    if missing:
        raise HistoryError(f"{path}: missing required column(s) {missing}; has {schema.names}")
    columns = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in schema.names]
    try:
        table = pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise HistoryError(f"{path}: cannot read ({exc})") from None
    if builder.venues is not None:
        table = table.filter(pc.is_in(table["venue"], value_set=pa.array(sorted(builder.venues))))
    ts_col = table["settlement_ts"]
    if pa.types.is_timestamp(ts_col.type):
        if ts_col.type.tz is None:
            raise HistoryError(f"{path}: settlement_ts has no time zone; UTC would be a guess")
        ts_list: list[Any] = (
            pc.cast(ts_col, pa.timestamp("us", tz="UTC"), safe=False).cast(pa.int64()).to_pylist()
        )
        ts_values: list[int | units.UnitError] = [
            units.UnitError("settlement_ts", None, "missing") if v is None else v for v in ts_list
        ]
    else:
        ts_values = []
        for raw in ts_col.to_pylist():
            try:
                ts_values.append(parse_timestamp(raw))
            except units.UnitError as exc:
                ts_values.append(exc)
    n = table.num_rows
    cols = {c: table[c].to_pylist() for c in columns if c != "settlement_ts"}
    none = [None] * n
    source = f"history:{path.name}"
    add = builder.add
    for args in zip(
        cols["venue"],
        cols["venue_symbol"],
        cols["canonical_symbol"],
        ts_values,
        cols["rate_raw"],
        cols["interval_hours"],
        cols.get("mark_price", none),
        cols.get("open_interest_usd", none),
        cols.get("volume_24h_usd", none),
        cols.get("is_predicted", none),
        strict=True,
    ):
        add(source, *args)


def _csv_rows(path: Path, builder: _Builder) -> None:
    source = f"history:{path.name}"
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise HistoryError(f"{path}: cannot open ({exc})") from None
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise HistoryError(f"{path}: missing required column(s) {missing}; has {list(header)}")
        for row in reader:
            venue = row.get("venue")
            if not builder.wants(venue):
                continue

            def cell(name: str, row: dict[str, str | None] = row) -> str | None:
                value = row.get(name)
                return None if value is None or not value.strip() else value

            try:
                ts: int | units.UnitError = parse_timestamp(cell("settlement_ts"))
            except units.UnitError as exc:
                ts = exc
            builder.add(
                source,
                cell("venue"),
                cell("venue_symbol"),
                cell("canonical_symbol"),
                ts,
                cell("rate_raw"),
                cell("interval_hours"),
                cell("mark_price"),
                cell("open_interest_usd"),
                cell("volume_24h_usd"),
                cell("is_predicted"),
            )


def history_files(path: Path) -> list[Path]:
    """The files a history path stands for: the file itself, or the directory's `*.parquet` and `*.csv`.

    Raises:
        HistoryError: path missing, a file with another extension, or a directory without such files.
    """
    if not path.exists():
        raise HistoryError(f"{path}: no such file or directory")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".parquet", ".csv") and p.is_file())
        if not files:
            raise HistoryError(f"{path}: no *.parquet or *.csv files")
        return files
    if path.suffix.lower() not in (".parquet", ".csv"):
        raise HistoryError(f"{path}: expected a .parquet or .csv file (or a directory of them)")
    return [path]


def load_history(path: Path | str, *, venues: Iterable[str] | None = None) -> FundingHistory:
    """Read parquet / CSV funding history (a file or a directory of them) and normalise every row.

    Args:
        path: a `.parquet` or `.csv` file, or a directory holding such files.
        venues: keep only these venues (None = all); other venues' rows are skipped, not rejected.

    Returns:
        A `FundingHistory` (markets with sorted, de-duplicated settlements; rejections with reasons).

    Raises:
        HistoryError: see `history_files`; a file that cannot be read or lacks a required column.
    """
    builder = _Builder(venues)
    history = FundingHistory()
    source_of: dict[tuple[str, str], str] = {}
    for file in history_files(Path(path)):
        if file.suffix.lower() == ".parquet":
            _parquet_rows(file, builder)
        else:
            _csv_rows(file, builder)
        history.sources.append(str(file))
        for key in builder.rows:
            source_of.setdefault(key, f"history:{file.name}")
        builder.build(history, source_of)
    if history.rejections:
        log.warning("funding history: %d row(s) or field(s) rejected", len(history.rejections))
    return history


def load_rows(
    rows: Iterable[dict[str, Any]], *, source: str = "rows", venues: Iterable[str] | None = None
) -> FundingHistory:
    """Normalise in-memory rows (dicts with the file columns; `settlement_ts` an aware datetime or ISO text)
    exactly as `load_history` does for a file. For tests and callers that already hold the rows.

    Raises:
        HistoryError: a row lacks a required column (key).
    """
    builder = _Builder(venues)
    history = FundingHistory(sources=[source])
    for row in rows:
        missing = [c for c in REQUIRED_COLUMNS if c not in row]
        if missing:
            raise HistoryError(f"{source}: row without column(s) {missing}: {row!r}")
        if not builder.wants(row["venue"]):
            continue
        try:
            ts: int | units.UnitError = parse_timestamp(row["settlement_ts"])
        except units.UnitError as exc:
            ts = exc
        builder.add(
            f"history:{source}",
            row["venue"],
            row["venue_symbol"],
            row["canonical_symbol"],
            ts,
            row["rate_raw"],
            row["interval_hours"],
            row.get("mark_price"),
            row.get("open_interest_usd"),
            row.get("volume_24h_usd"),
            row.get("is_predicted"),
        )
    builder.build(history, {})
    return history


# ---------------------------------------------------------------------------------------------- database

DB_QUERY = """
SELECT v.name, m.venue_symbol, m.symbol, m.quote, f.ts, f.rate_hourly, f.mark_price,
       f.open_interest_usd, f.volume_24h_usd, f.source
FROM funding_rate_samples f JOIN markets m ON m.id = f.market_id JOIN venues v ON v.id = m.venue_id
WHERE f.kind = 'settled' AND (CAST(:venues AS text[]) IS NULL OR v.name = ANY(CAST(:venues AS text[])))
ORDER BY v.name, m.venue_symbol, f.ts
"""


def db_row_settlement(source: str, rate_hourly: Decimal) -> tuple[Decimal, Decimal]:
    """A stored settled sample -> (rate_raw as the fraction of notional paid at that row, interval hours).

    The venue that stored the row says how its settled rows settle (`VenueSpec.settlement`): each row of one
    of its `settled_sources` is one `interval_hours` of funding whose stored `rate_hourly` (the canonical
    fraction per hour, already normalised by the venue's parser) was paid per hour. E.g. an hourly settlement
    (paid every hour on the hour) or an hourly bucket of continuous accrual: (rate_hourly * 1, 1).

    Raises:
        units.UnitError: a source no installed venue declares (no known settlement schedule).
    """
    from exchange_clients.registry import venue_specs

    for spec in venue_specs().values():
        interval = spec.settlement.interval_for(source)
        if interval is not None:
            return rate_hourly * interval, interval
    raise units.UnitError("source", source, "settled rows of this source have no known settlement schedule")


async def load_history_db(conn: Any, *, venues: Sequence[str] | None = None) -> FundingHistory:
    """Settled funding history from the project's database (`funding_rate_samples` kind 'settled').

    Args:
        conn: a SQLAlchemy `AsyncConnection`.
        venues: keep only these venues (None = all).

    Each row goes through `db_row_settlement` (interval per source, from the venue's spec), then the same
    checks as files.
    canonical_symbol is `<symbol>-<quote>-PERP` from the markets table.

    Raises:
        sqlalchemy.exc.DBAPIError: on a database error.
    """
    from sqlalchemy import text

    result = await conn.execute(text(DB_QUERY), {"venues": list(venues) if venues else None})
    builder = _Builder(venues)
    history = FundingHistory(sources=[DB_SOURCE])
    for venue, vsym, symbol, quote, ts, hourly, mark, oi, vol, src in result.all():
        source = f"db:{src}"
        try:
            rate_raw, interval = db_row_settlement(src, Decimal(hourly))
        except units.UnitError as exc:
            builder.rows_read += 1
            builder.rejections.append(reject_unit_error(venue, source, vsym, exc))
            continue
        builder.add(
            source,
            venue,
            vsym,
            f"{symbol}-{quote}-PERP",
            us_from_utc(ts),
            rate_raw,
            interval,
            mark,
            oi,
            vol,
        )
    builder.build(history, {})
    return history


# ------------------------------------------------------------------------------------------------ sanity


def mean_apr_by_symbol(history: FundingHistory) -> dict[tuple[str, str], Decimal]:
    """Each venue's mean APR per symbol: (venue, canonical_symbol) -> fraction per year.

    Mean of `rate_hourly * 8760` over the accepted settlements, weighted by each row's `interval_hours`:
    `sum(rate_hourly * 8760 * interval_hours) / sum(interval_hours)`. (Equal to `sum(rate_raw) * 8760 /
    sum(interval_hours)`; an independent recomputation from the raw file checks it.)
    """
    sums: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for m in history.markets.values():
        key = (m.venue, m.canonical_symbol)
        num, den = sums.get(key, (Decimal(0), Decimal(0)))
        for hourly, hours in zip(m.rate_hourly, m.interval_hours, strict=True):
            num += hourly * HOURS_PER_YEAR * hours
            den += hours
        sums[key] = (num, den)
    return {k: num / den for k, (num, den) in sorted(sums.items()) if den > 0}
