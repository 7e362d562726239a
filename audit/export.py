"""Archived records to CSV or Parquet (``tickscope export``): one flat row per record.

CSV cells are neutralised against formula injection (OWASP "CSV injection"): a
text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
written with a leading apostrophe, so a spreadsheet shows it as text instead of
evaluating it. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tickscope.contracts.times import iso_utc

SCALARS = ("seq", "signal_id", "symbol", "ts", "ts_utc", "price", "model_version", "score", "threshold", "direction",
           "base_value", "additivity_error", "attention_shap_spearman", "scored_at", "produced_at", "schema_version",
           "leaf_hash")


def export_rows(records) -> list[dict]:
    """One flat row per record: scalar fields as columns, arrays and objects kept as values."""
    rows = []
    for rec in records:
        try:
            obj = rec.value()
        except ValueError as exc:
            obj = None
            why = str(exc)[:200]
        if not isinstance(obj, dict):
            obj = {"signal_id": rec.signal_id, "symbol": rec.symbol, "ts": rec.ts,
                   "unreadable_body": why if obj is None else f"JSON {type(obj).__name__}, not an object"}
        try:
            ts_utc = iso_utc(rec.ts)
        except (ValueError, OverflowError, OSError):
            ts_utc = ""
        row = {"seq": rec.seq, "ts_utc": ts_utc, "leaf_hash": rec.leaf_hash.hex()}
        for k, v in obj.items():
            row[k] = v
        rows.append(row)
    return rows


def _columns(rows: list[dict]) -> list[str]:
    cols = [c for c in SCALARS if any(c in r for r in rows)]
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    return cols


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str | int | float:
    """One CSV cell: arrays and objects as JSON text, text that a spreadsheet would evaluate made inert."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        value = json.dumps(value, sort_keys=True)
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    return value


def export(records, fmt: str, out: Path) -> int:
    rows = export_rows(records)
    cols = _columns(rows) if rows else list(SCALARS)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        with out.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([csv_cell(c) for c in cols])
            for r in rows:
                w.writerow([csv_cell(r.get(c)) for c in cols])
        return len(rows)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        data = {}
        for c in cols:
            vals = [r.get(c) for r in rows]
            if any(isinstance(v, dict) for v in vals):  # objects (explainer, quality) whose keys vary: JSON text
                vals = [None if v is None else json.dumps(v, sort_keys=True) for v in vals]
            elif any(isinstance(v, float) for v in vals) and all(isinstance(v, (int, float)) or v is None
                                                                 for v in vals):
                vals = [None if v is None else float(v) for v in vals]
            data[c] = vals
        pq.write_table(pa.table(data), out)
        return len(rows)
    raise ValueError(f"unknown export format {fmt!r}: use csv or parquet")
