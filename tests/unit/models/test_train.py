"""Same seed + same data -> byte-identical artifact (same sha256 version), for each architecture."""

from __future__ import annotations

import numpy as np
import pytest

from tickscope.marketdata.sources import load_source
from tickscope.models import registry
from tickscope.models.train import TrainConfig, predict, save_result, train_model


@pytest.mark.parametrize("arch", ["lstm", "tcn"])
def test_same_seed_same_sha256(tmp_path, arch):
    rows = {"eurusd": load_source("eurusd")[:900], "sp500": load_source("sp500")[:900]}
    cfg = TrainConfig(sources=tuple(rows), seed=3, max_epochs=2, limit_ticks=900, arch=arch)
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
    assert meta["horizon"] == 8 and meta["seed"] == 3 and meta["target"] == "log_vol_ratio"
    assert meta["samples"]["train"] > 0 and meta["samples"]["test"] > 0
    assert meta["attention"] is (arch == "lstm") and (meta["attention_stats"] is None) is (arch == "tcn")


def test_score_is_centred_and_each_side_fires_on_its_share_of_training_windows(tmp_path):
    rows = {"eurusd": load_source("eurusd")[:1500]}
    cfg = TrainConfig(sources=("eurusd",), seed=1, max_epochs=2, limit_ticks=1500)
    result = train_model(cfg, rows_by_source=rows, progress=False)
    meta, train = result.meta, result.splits["train"]
    scores = predict(result.net, train.windows)
    lower, upper = meta["threshold_low"], meta["threshold_high"]
    assert lower < upper
    assert np.mean(scores > upper) == pytest.approx(cfg.firing_rate / 2, abs=2 / len(scores))
    assert np.mean(scores < lower) == pytest.approx(cfg.firing_rate / 2, abs=2 / len(scores))
    assert meta["centre"] == pytest.approx(float(np.mean(train.targets.astype(np.float64))))
    version = save_result(result, tmp_path, None, set_default=False)
    loaded = registry.load_file(tmp_path / f"{version}.safetensors")  # the served score is the centred one
    np.testing.assert_array_equal(predict(loaded.net, train.windows), scores)
    assert loaded.thresholds == (lower, upper) and loaded.signal_threshold("short") == lower
