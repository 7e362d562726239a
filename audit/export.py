"""Archived records to CSV or Parquet (``tickscope export``): one flat row per record."""

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
        obj = rec.value()
        row = {"seq": rec.seq, "ts_utc": iso_utc(rec.ts), "leaf_hash": rec.leaf_hash.hex()}
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


def export(records, fmt: str, out: Path) -> int:
    rows = export_rows(records)
    cols = _columns(rows) if rows else list(SCALARS)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        with out.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for r in rows:
                w.writerow([json.dumps(r[c], sort_keys=True) if isinstance(r.get(c), (list, dict))
                            else ("" if r.get(c) is None else r[c]) for c in cols])
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
