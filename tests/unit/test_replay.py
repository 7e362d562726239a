"""``tickscope replay``: archived explanations re-created bit for bit from window + model + seed."""

from __future__ import annotations

import csv
import hashlib
import json

import pytest

from audit.heads import load_or_create_signer
from audit.replay import ModelCache, differing_fields, recreate
from audit.store import Incoming, open_store
from streams.records import signal_id_for
from streams.sources import load_source
from tests.unit.test_store import build_archive, real_records, real_signals
from tickscope.cli import main

N = 6


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path))
    for name in ("TICKSCOPE_ARCHIVE_URL", "TICKSCOPE_ARCHIVE_PATH", "TICKSCOPE_MODEL_VERSION"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(capsys, *args) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def archive_of(path, values: list[dict]):
    signer = load_or_create_signer(path.parent)
    store = open_store(path, read_only=False)
    store.register_key(signer, 1)
    store.append_batch([Incoming(json.dumps(v).encode(), None, f"e/0@{i}") for i, v in enumerate(values)], {},
                       signer, 1_700_000_000_000)
    store.close()


def test_recreate_is_bit_exact_on_real_records():
    models = ModelCache()
    for rec in real_records()[:N]:
        archived = json.loads(rec.to_json())
        again = recreate(archived, models)
        assert differing_fields(archived, again) == []
        assert again.to_json() == rec.to_json()


def test_replay_reports_every_record_reproduced(env, capsys):
    path = env / "archive.sqlite"
    build_archive(path, real_records()[:N], data_dir=env)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, out = run(capsys, "replay", "--no-progress")
    assert code == 0, out
    assert f"{N}/{N} reproduced" in out
    assert out.count("reproduced ") >= N
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    one = real_records()[2]
    code, out = run(capsys, "replay", "--no-progress", "--signal-id", one.signal_id)
    assert code == 0 and "1/1 reproduced" in out
    code, out = run(capsys, "replay", "--no-progress", "--symbol", "EURUSD", "--from", str(real_records()[1].ts),
                    "--to", str(real_records()[3].ts))
    assert code == 0 and "3/3 reproduced" in out


def test_a_different_explanation_is_reported(env, capsys):
    values = [json.loads(r.to_json()) for r in real_records()[:3]]
    values[1]["attributions"][4][2] += 1e-12
    values[2]["attention"][0] = values[2]["attention"][0] * (1 + 1e-9)
    archive_of(env / "archive.sqlite", values)
    code, out = run(capsys, "replay", "--no-progress")
    assert code == 1
    assert "1/3 reproduced" in out
    assert f"different  seq 1 {values[1]['signal_id']}" in out and "differs in: attributions" in out
    assert "differs in: attention" in out


def test_a_missing_model_version_is_a_clear_error(env, capsys):
    v = json.loads(real_records()[0].to_json())
    v["model_version"] = "ab" * 32
    v["signal_id"] = signal_id_for(v["symbol"], v["ts"], v["model_version"])
    archive_of(env / "archive.sqlite", [v])
    code, out = run(capsys, "replay", "--no-progress")
    assert code == 2
    assert f"record seq 0 (signal {v['signal_id']}): model version {'ab' * 32} cannot be loaded" in out
    assert "not found in" in out


def test_a_newer_schema_record_is_a_clear_error(env, capsys):
    v = json.loads(real_records()[0].to_json())
    v["schema_version"] = 2
    archive_of(env / "archive.sqlite", [v])
    code, out = run(capsys, "replay", "--no-progress")
    assert code == 2
    assert f"record seq 0 (signal {v['signal_id']}): schema_version 2 is newer than this tickscope understands" in out


def test_report_is_self_contained(env, capsys):
    build_archive(env / "archive.sqlite", real_records()[:3], data_dir=env)
    out_html = env / "report.html"
    code, out = run(capsys, "replay", "--no-progress", "--report", str(out_html))
    assert code == 0 and "report:" in out
    doc = out_html.read_text()
    assert doc.count("<section") == 3 and "<svg" in doc
    assert "Inclusion proof verifies" in doc and "Ed25519 signature" in doc
    assert "Model card" in doc and "Attributions" in doc and "Price context" in doc
    assert "<script" not in doc and "src=\"http" not in doc and "href=\"http" not in doc and "@import" not in doc


def test_export_csv_and_parquet(env, capsys):
    import pyarrow.parquet as pq

    build_archive(env / "archive.sqlite", real_records()[:4], data_dir=env)
    code, out = run(capsys, "export", "--format", "csv", "--out", str(env / "x.csv"))
    assert code == 0 and "4 records" in out
    rows = list(csv.DictReader((env / "x.csv").open()))
    assert [r["signal_id"] for r in rows] == [r.signal_id for r in real_records()[:4]]
    assert json.loads(rows[0]["attributions"]) == json.loads(real_records()[0].to_json())["attributions"]
    code, out = run(capsys, "export", "--format", "parquet", "--out", str(env / "x.parquet"), "--symbol", "EURUSD")
    table = pq.read_table(env / "x.parquet")
    assert code == 0 and table.num_rows == 4
    assert table.column("window").to_pylist()[1] == real_records()[1].window
    assert table.column("score").to_pylist()[0] == real_records()[0].score


def test_replay_from_raw_ticks_fires_the_archived_ids(env, capsys):
    recs = real_records()[:N]
    build_archive(env / "archive.sqlite", recs, data_dir=env)
    last_ts = recs[-1].ts
    ticks = env / "ticks.jsonl"
    with ticks.open("w") as fh:
        for r in load_source("eurusd"):
            if r.ts > last_ts:
                break
            fh.write(json.dumps({"symbol": "EURUSD", "ts": r.ts, "price": r.price, "size": r.size}) + "\n")
    code, out = run(capsys, "replay", "--ticks", str(ticks))
    assert code == 0, out
    for r in recs:
        assert f"signal {r.signal_id} EURUSD {r.ts}" in out
    assert f"{N} signals fired" in out and f"archive has {N} in the same symbols, span and model; {N} match" in out
    assert [s.signal_id for s in real_signals()[:N]] == [r.signal_id for r in recs]


def test_replay_from_a_csv_needs_a_symbol(env, capsys, tmp_path):
    from pathlib import Path

    import backtesting

    src = Path(backtesting.__file__).parent / "test" / "EURUSD.csv"
    code, out = run(capsys, "replay", "--ticks", str(src))
    assert code == 2 and "pass --symbol" in out


def test_bench_archive_times_the_explanation_inside_replay():
    """The replay figure splits its time into the explanation and the rest; the split must see the explain call."""
    from audit.bench import bench_archive

    r = bench_archive(sizes=(40,), replay_n=3)
    rep = r["replay"]
    assert rep["reproduced"] == rep["records"] == 3
    assert rep["explain_ms_per_record"] > 0.5  # an explanation costs milliseconds, never ~0
    assert rep["explain_ms_per_record"] < rep["seconds"] / rep["records"] * 1e3
