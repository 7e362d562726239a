"""``tickscope model-info``: a model card on the console, JSON, and a clear error."""

from __future__ import annotations

import json

import torch

from tickscope.models import registry
from tickscope.models.lstm import AttentionLSTM

META = {"threshold": 0.5, "feature_names": list("abcdef"), "window_t": 32, "horizon": 8}


def _net(seed: int = 0) -> AttentionLSTM:
    torch.manual_seed(seed)
    return AttentionLSTM(6, hidden=8)


def test_model_info_prints_error_and_exits_2(artifact_store, capsys):
    from tickscope.cli import main

    assert main(["model-info", "--version", "f" * 64]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "Traceback" not in err


def test_model_info_json(artifact_store, capsys):
    from tickscope.cli import main

    version = registry.save(_net(), torch.zeros(32, 6), META, artifact_store)
    assert main(["model-info", "--version", version, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["version"] == version and info["window_t"] == 32 and info["threshold"] == 0.5
