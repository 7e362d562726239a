"""``tickscope export``: archived records to CSV and Parquet."""

from __future__ import annotations

import csv
import json

from tests.support.archives import build_archive, real_records


def test_export_csv_and_parquet(env, run):
    import pyarrow.parquet as pq

    build_archive(env / "archive.sqlite", real_records()[:4], data_dir=env)
    code, out = run("export", "--format", "csv", "--out", str(env / "x.csv"))
    assert code == 0 and "4 records" in out
    rows = list(csv.DictReader((env / "x.csv").open()))
    assert [r["signal_id"] for r in rows] == [r.signal_id for r in real_records()[:4]]
    assert json.loads(rows[0]["attributions"]) == json.loads(real_records()[0].to_json())["attributions"]
    code, out = run("export", "--format", "parquet", "--out", str(env / "x.parquet"), "--symbol", "EURUSD")
    table = pq.read_table(env / "x.parquet")
    assert code == 0 and table.num_rows == 4
    assert table.column("window").to_pylist()[1] == real_records()[1].window
    assert table.column("score").to_pylist()[0] == real_records()[0].score




def test_csv_cells_a_spreadsheet_would_evaluate_are_made_inert():
    from tickscope.audit.export import csv_cell

    for text in ("=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"):
        assert csv_cell(text) == "'" + text
    assert csv_cell("EURUSD") == "EURUSD" and csv_cell(-0.5) == -0.5 and csv_cell(None) == ""
    assert csv_cell(["=x"]) == '["=x"]'  # JSON text starts with a bracket
