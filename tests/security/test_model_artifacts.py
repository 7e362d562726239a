"""Attacks through model artifacts: an insider who can write to the data directory plants an artifact.

An artifact is weights and JSON; the class it names is installed code. The planted artifact names
``subprocess:Popen`` with a command as its constructor arguments, and a forged archive record points
replay at it. Each test first checks the plant is really where serving and replay look (the attack reached
what it meant to), then that nothing ran.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from safetensors.torch import save as st_save

from tickscope.models import registry
from tickscope.models.registry import ModelError


def _plant(data_dir, marker) -> str:
    """A well-formed artifact, named by its sha256, whose architecture would run ``touch marker``."""
    meta = {"schema_version": 2, "architecture": {"class": "subprocess:Popen", "kwargs": {"args": ["touch",
            str(marker)]}}, "window_t": 32, "feature_names": list("abcdef"), "threshold_low": -1.0,
            "threshold_high": 1.0, "n_features": 6}
    blob = st_save({"explain.baseline": torch.zeros(32, 6)}, metadata={"tickscope": json.dumps(meta)})
    version = hashlib.sha256(blob).hexdigest()
    (data_dir / "models").mkdir(parents=True, exist_ok=True)
    (data_dir / "models" / f"{version}.safetensors").write_bytes(blob)
    return version


@pytest.fixture
def planted(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path / "data"))
    marker = tmp_path / "ran"
    version = _plant(tmp_path / "data", marker)
    path = registry.artifact_path(version)  # serving and replay find the plant
    assert path.parent == tmp_path / "data" / "models"
    assert registry.read_meta(path)["architecture"]["class"] == "subprocess:Popen"
    return version, marker


@pytest.mark.parametrize("allow", ["", "subprocess"])
def test_loading_a_planted_artifact_runs_nothing(planted, monkeypatch, allow):
    """Refused by the module rule, and, if an operator allowed the package, by the nn.Module rule."""
    version, marker = planted
    monkeypatch.setenv("TICKSCOPE_MODEL_MODULES", allow)
    with pytest.raises(ModelError, match="TICKSCOPE_MODEL_MODULES" if not allow else "not a torch.nn.Module"):
        registry.load(version)
    assert not marker.exists()


def test_a_forged_record_cannot_make_replay_run_the_plant(planted):
    from tickscope.audit.replay import ModelCache, replay_one

    version, marker = planted
    record = {"signal_id": "f" * 32, "symbol": "X", "ts": 1, "price": 1.0, "model_version": version, "score": 2.0,
              "threshold": 1.0, "direction": "long", "feature_names": list("abcdef"), "window": [[0.0] * 6] * 32,
              "explainer": {"method": "tickscope.baseline-shapley/v3", "params": {}, "seed": 1}, "produced_at": 1}
    outcome = replay_one(1, record, ModelCache())  # refused before anything runs (schema and allowlist first)
    assert outcome.status in ("error", "not_reproducible")
    assert not marker.exists()
    from tickscope.audit.replay import ReplayError

    with pytest.raises(ReplayError, match="cannot be loaded"):  # and the model cache itself refuses the plant
        ModelCache().get(version)
    assert not marker.exists()
