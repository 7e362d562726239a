"""Real market data shipped inside PyPI packages, as bars and as ticks.

Sources (nothing is downloaded at run time):
- ``eurusd``, ``goog``, ``btcusd``: CSVs in the ``backtesting`` package
  (hourly EURUSD, daily GOOG, monthly BTCUSD; timestamps without an offset,
  read as UTC).
- ``sp500``, ``nasdaq``: daily index data in the ``arch`` package.
- any ``PATH.csv`` with a timestamp column and a price column.

How a bar becomes a tick: one tick per bar, at the bar's close price, stamped
with the bar's timestamp as given in the file (epoch ms UTC), with the bar's
volume as ``size`` when the file has one. One tick per bar keeps the streamed
series identical to the series the model is trained on.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from tickscope.contracts.times import parse_time_ms

PACKAGED_SOURCES = ("eurusd", "goog", "btcusd", "sp500", "nasdaq")
TS_COLUMNS = ("ts", "timestamp", "time", "datetime", "date", "")
PRICE_COLUMNS = ("price", "close", "adj close", "last")
SIZE_COLUMNS = ("size", "volume", "qty", "quantity")


class SourceError(ValueError):
    """A data source that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class TickRow:
    ts: int  # epoch milliseconds UTC
    price: float
    size: float | None


def _to_ms(text: str, where: str) -> int:
    """Epoch ms UTC; a timestamp without an offset is read as UTC (documented above)."""
    try:
        ms = parse_time_ms(text)
    except ValueError as exc:
        raise SourceError(f"{where}: unparseable timestamp {text.strip()[:40]!r}") from exc
    if ms is None:
        raise SourceError(f"{where}: empty timestamp")
    return ms


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def read_csv(path: Path) -> list[TickRow]:
    """Ticks from a CSV with a header; a malformed row raises SourceError naming its line."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise SourceError(f"{path}:1: empty file, expected a header row")
        ts_col, price_col = _pick(header, TS_COLUMNS), _pick(header, PRICE_COLUMNS)
        size_col = _pick(header, SIZE_COLUMNS)
        if ts_col is None or price_col is None:
            raise SourceError(f"{path}:1: header needs a timestamp column {TS_COLUMNS[:5]} and a price column "
                              f"{PRICE_COLUMNS}, got {header}")
        return [_row(row, f"{path}:{reader.line_num}", ts_col, price_col, size_col) for row in reader if row]


def _row(row: list[str], where: str, ts_col: int, price_col: int, size_col: int | None) -> TickRow:
    if len(row) <= max(ts_col, price_col, size_col or 0):
        raise SourceError(f"{where}: expected at least {max(ts_col, price_col) + 1} columns, got {len(row)}")
    try:
        price = float(row[price_col])
    except ValueError as exc:
        raise SourceError(f"{where}: price {row[price_col][:40]!r} is not a number") from exc
    if not (math.isfinite(price) and price > 0):
        raise SourceError(f"{where}: price must be finite and > 0, got {price}")
    size = None
    if size_col is not None and row[size_col].strip():
        try:
            size = float(row[size_col])
        except ValueError as exc:
            raise SourceError(f"{where}: size {row[size_col][:40]!r} is not a number") from exc
    return TickRow(ts=_to_ms(row[ts_col], where), price=price, size=size)


def _arch_rows(name: str) -> list[TickRow]:
    import importlib

    df = importlib.import_module(f"arch.data.{name}").load()
    close = df["Adj Close"] if "Adj Close" in df else df["Close"]
    volume = df["Volume"] if "Volume" in df else None
    rows = []
    for i, (stamp, price) in enumerate(close.items()):
        ts = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        size = None if volume is None else float(volume.iloc[i])
        rows.append(TickRow(ts=int(ts.timestamp() * 1000), price=float(price), size=size))
    return rows


def load_source(source: str) -> list[TickRow]:
    """Ticks for a packaged source name or a CSV path, in time order."""
    if source in ("eurusd", "goog", "btcusd"):
        import backtesting

        path = Path(backtesting.__file__).parent / "test" / f"{source.upper()}.csv"
        rows = read_csv(path)
    elif source in ("sp500", "nasdaq"):
        rows = _arch_rows(source)
    elif source.endswith(".csv") or Path(source).exists():
        rows = read_csv(Path(source))
    else:
        raise SourceError(f"unknown source {source!r}: use one of {', '.join(PACKAGED_SOURCES)} or a path to a .csv")
    return sorted(rows, key=lambda r: r.ts)
