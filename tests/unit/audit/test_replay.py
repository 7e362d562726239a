"""``tickscope replay``: archived explanations re-created bit for bit from window + model + seed."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.support.archives import build_archive, build_legacy_archive, real_records, real_signals, signer_in
from tickscope.audit.archive_store import Incoming, open_store
from tickscope.audit.replay import ModelCache, differing_fields, recreate
from tickscope.audit.replay_params import MAX_MODEL_ROWS, NotReproducible, explain_config
from tickscope.contracts.ids import signal_id_for
from tickscope.explainer.baseline_shapley import ExplainConfig
from tickscope.marketdata.sources import load_source

N = 6


def archive_of(path, values: list[dict]):
    signer = signer_in(path.parent)
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


def test_the_allowlist_takes_the_workers_parameters_and_refuses_costly_ones():
    params = ExplainConfig().params("ab" * 32)
    config, baseline = explain_config(params, 32, 6)
    assert config == ExplainConfig() and baseline == "ab" * 32
    for change, why in (({"segments": 40}, "segments=40 is outside"), ({"segments": 22}, "segments=22 is outside"),
                        ({"cell_permutations": 10**6}, "outside"), ({"threads": 64}, "outside"),
                        ({"deletion_k": [1] * 50}, "at most 4"), ({"stability_eps": "1"}, "stability_eps"),
                        ({"extra": 1}, "not on the replay allowlist"), ({"baseline_sha256": None}, "baseline")):
        with pytest.raises(NotReproducible, match=why):
            explain_config({**params, **change}, 32, 6)
    with pytest.raises(NotReproducible, match="window is outside"):
        explain_config(params, 32, 30)  # 2**30 feature coalitions
    with pytest.raises(NotReproducible, match=f"more than replay runs \\({MAX_MODEL_ROWS:,}\\)"):
        explain_config({**params, "segments": 12, "cell_permutations": 16, "stability_perturbations": 8}, 256, 8)


def test_replay_over_two_jobs_gives_the_same_outcomes_in_log_order(env, run):
    build_archive(env / "archive.sqlite", real_records()[:N], data_dir=env)
    code, out = run("replay", "--no-progress", "--jobs", "2")
    assert code == 0, out
    assert f"{N}/{N} reproduced" in out and "2 job(s)" in out
    seqs = [int(line.split()[2]) for line in out.splitlines() if line.startswith("reproduced ")]
    assert seqs == list(range(N))


def test_replay_reports_every_record_reproduced(env, run):
    path = env / "archive.sqlite"
    build_archive(path, real_records()[:N], data_dir=env)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, out = run("replay", "--no-progress", "--jobs", "1")
    assert code == 0, out
    assert f"{N}/{N} reproduced" in out
    assert out.count("reproduced ") >= N
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    one = real_records()[2]
    code, out = run("replay", "--no-progress", "--signal-id", one.signal_id)
    assert code == 0 and "1/1 reproduced" in out
    code, out = run("replay", "--no-progress", "--symbol", "EURUSD", "--from", str(real_records()[1].ts),
                    "--to", str(real_records()[3].ts))
    assert code == 0 and "3/3 reproduced" in out


def test_a_different_explanation_is_reported(env, run):
    values = [json.loads(r.to_json()) for r in real_records()[:3]]
    values[1]["attributions"][4][2] += 1e-12
    values[2]["attention"][0] = values[2]["attention"][0] * (1 + 1e-9)
    archive_of(env / "archive.sqlite", values)
    code, out = run("replay", "--no-progress")
    assert code == 1
    assert "1/3 reproduced" in out
    assert f"different  seq 1 {values[1]['signal_id']}" in out and "differs in: attributions" in out
    assert "differs in: attention" in out


def test_a_missing_model_version_is_a_clear_error(env, run):
    v = json.loads(real_records()[0].to_json())
    v["model_version"] = "ab" * 32
    v["signal_id"] = signal_id_for(v["symbol"], v["ts"], v["model_version"])
    archive_of(env / "archive.sqlite", [v])
    code, out = run("replay", "--no-progress")
    assert code == 2
    assert f"record seq 0 (signal {v['signal_id']}): model version {'ab' * 32} cannot be loaded" in out
    assert "not found in" in out


def test_a_newer_schema_record_is_a_clear_error(env, run):
    v = json.loads(real_records()[0].to_json())
    v["schema_version"] = 2  # an older archiver stored such records verbatim
    build_legacy_archive(env / "archive.sqlite", [v], signer_in(env))
    code, out = run("replay", "--no-progress")
    assert code == 2
    assert f"record seq 0 (signal {v['signal_id']}): schema_version 2 is newer than this tickscope understands" in out


def test_replay_from_raw_ticks_fires_the_archived_ids(env, run):
    recs = real_records()[:N]
    build_archive(env / "archive.sqlite", recs, data_dir=env)
    last_ts = recs[-1].ts
    ticks = env / "ticks.jsonl"
    with ticks.open("w") as fh:
        for r in load_source("eurusd"):
            if r.ts > last_ts:
                break
            fh.write(json.dumps({"symbol": "EURUSD", "ts": r.ts, "price": r.price, "size": r.size}) + "\n")
    code, out = run("replay", "--ticks", str(ticks))
    assert code == 0, out
    for r in recs:
        assert f"signal {r.signal_id} EURUSD {r.ts}" in out
    assert f"{N} signals fired" in out and f"archive has {N} in the same symbols, span and model; {N} match" in out
    assert [s.signal_id for s in real_signals()[:N]] == [r.signal_id for r in recs]


def test_replay_from_a_csv_needs_a_symbol(env, run, tmp_path):
    from pathlib import Path

    import backtesting

    src = Path(backtesting.__file__).parent / "test" / "EURUSD.csv"
    code, out = run("replay", "--ticks", str(src))
    assert code == 2 and "pass --symbol" in out


