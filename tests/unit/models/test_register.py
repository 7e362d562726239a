"""Bring your own model: registration builds, checks, saves by sha256 and describes; every check can refuse."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tickscope.models import registry
from tickscope.models.register import RegistrationError, register

DESK = "tests.support.desk_models"


@pytest.fixture
def desk(artifact_store, monkeypatch, tmp_path):
    """An empty registry, the package ``tests`` allowed as a desk allows its own; returns a spec builder."""
    monkeypatch.setenv("TICKSCOPE_MODEL_MODULES", "tests")

    def make(cls="GRUScore", kwargs=None, weights_of=None, **spec):
        kwargs = {"n_features": 6, "hidden": 8} if kwargs is None else kwargs
        torch.manual_seed(0)
        from tests.support import desk_models

        net = getattr(desk_models, weights_of or cls)(**kwargs)
        path = tmp_path / f"{cls}.safetensors"
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
        full = {"architecture": {"class": f"{DESK}:{cls}", "kwargs": kwargs}, "window_t": 32,
                "output": "desk score", "threshold_low": -0.05, "threshold_high": 0.05, "attention": False}
        return dict(full, **spec), path

    return make


def test_a_desk_model_is_registered_served_and_described(desk, tmp_path):
    spec, weights = desk()
    version, meta = register(spec, weights, tmp_path / "out")
    assert (tmp_path / "out" / f"{version}.safetensors").exists()
    loaded = registry.load_file(tmp_path / "out" / f"{version}.safetensors")
    assert loaded.thresholds == (-0.05, 0.05) and not loaded.has_attention and loaded.window_t == 32
    assert tuple(loaded.baseline.shape) == (32, 6) and loaded.meta["baseline_rule"].startswith("elementwise median")
    checks = meta["registration"]["checks"]
    assert len(checks) == 5 and "loaded back: same bits" in checks[-1] and "None (as the spec says)" in checks[2]
    assert set(meta["signals"]) == {"pooled", "eurusd", "goog", "sp500", "nasdaq"}
    assert register(spec, weights, tmp_path / "out")[0] == version  # same inputs, same bytes, same name


def test_a_shorter_window_and_attention_are_served_as_the_spec_says(desk, tmp_path):
    spec, weights = desk("SoftmaxAttention", {"n_features": 6}, window_t=16, attention=True,
                         baseline=np.zeros((16, 6)).tolist())
    version, meta = register(spec, weights, tmp_path)
    loaded = registry.load_file(tmp_path / f"{version}.safetensors")
    assert loaded.window_t == 16 and loaded.history == 48 and loaded.has_attention
    assert meta["attention_stats"]["log_t"] == pytest.approx(np.log(16))


@pytest.mark.parametrize("cls, spec, message", [
    ("BatchCentred", {}, "depend on the batch"),
    ("Noisy", {}, "not deterministic"),
    ("ScoreOnly", {}, "forward must return"),
    ("GRUScore", {"attention": True}, "the spec says attention=True"),
    ("GRUScore", {"threshold_low": 0.1}, "lower < upper"),
    ("GRUScore", {"baseline": np.zeros((8, 6)).tolist()}, "baseline window"),
    ("GRUScore", {"feature_function": "desk/v2"}, "unknown feature function"),
])
def test_each_check_refuses_what_it_is_for(desk, tmp_path, cls, spec, message):
    built, weights = desk(cls, **spec)
    with pytest.raises(RegistrationError, match=message):
        register(built, weights, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*"))  # a refusal saves nothing


def test_weights_that_do_not_fit_are_refused(desk, tmp_path):
    spec, _ = desk()
    _, other = desk(kwargs={"n_features": 6, "hidden": 4})
    with pytest.raises(RegistrationError, match="do not fit"):
        register(spec, other, tmp_path)


def test_the_command_registers_lists_and_serves(desk, tmp_path, capsys, monkeypatch):
    from tickscope.cli import main

    spec, weights = desk()
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    assert main(["model", "register", "--spec", str(spec_path), "--weights", str(weights), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert registry.load(out["version"]).version == out["version"]  # on the serving search path ($DATA_DIR)
    assert "## Registration checks" in open(out["card"]).read()
    assert main(["model", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["version"] for r in listed] == [out["version"]] and listed[0]["architecture"] == f"{DESK}:GRUScore"
    assert main(["calibrate-alerts", "--version", out["version"], "--sample", "60"]) == 0
    written = capsys.readouterr().out
    assert str(registry.search_dirs()[-1]) in written  # beside the registered artifact, not in the package
    monkeypatch.delenv("TICKSCOPE_MODEL_MODULES")
    assert main(["model", "list", "--json"]) == 0
    assert "TICKSCOPE_MODEL_MODULES" not in capsys.readouterr().out  # listing reads metadata, imports nothing
    assert main(["model", "register", "--artifact", str(tmp_path / "none.safetensors")]) == 2
    assert "cannot be read" in capsys.readouterr().err
