"""Same seed + same data -> byte-identical artifact (same sha256 version)."""

from __future__ import annotations

from tickscope.marketdata.sources import load_source
from tickscope.models.train import TrainConfig, save_result, train_model


def test_same_seed_same_sha256(tmp_path):
    rows = {"eurusd": load_source("eurusd")[:900]}
    cfg = TrainConfig(sources=("eurusd",), seed=3, max_epochs=2, limit_ticks=900)
    versions = []
    for run in ("a", "b"):
        result = train_model(cfg, rows_by_source=rows, progress=False)
        versions.append(save_result(result, tmp_path / run, tmp_path / run / "cards", set_default=False))
    assert versions[0] == versions[1]
    assert (tmp_path / "a" / f"{versions[0]}.safetensors").read_bytes() == (
        tmp_path / "b" / f"{versions[1]}.safetensors"
    ).read_bytes()
    assert (tmp_path / "a" / "cards" / f"{versions[0]}.md").exists()
    meta = result.meta
    assert meta["horizon"] == 8 and meta["seed"] == 3 and meta["threshold"] > 0
    assert meta["samples"]["train"] > 0 and meta["samples"]["test"] > 0
