"""Which classes an artifact may name: tickscope's own, entry points, allowed packages; nn.Module subclasses only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from torch import nn

from tickscope.models import architecture
from tickscope.models.architecture import ArchitectureError
from tickscope.models.lstm import AttentionLSTM
from tickscope.models.tcn import TCN


def test_tickscope_architectures_build_by_short_name_and_path():
    assert isinstance(architecture.build(architecture.named("lstm", n_features=6, hidden=4)), AttentionLSTM)
    net = architecture.build({"class": "tickscope.models.tcn:TCN", "kwargs": {"n_features": 3, "hidden": 5}})
    assert isinstance(net, TCN) and net.inp.out_channels == 5


def test_legacy_artifacts_are_attention_lstms():
    arch = architecture.architecture_of({"n_features": 6, "hidden": 32})
    assert arch == {"class": architecture.LSTM, "kwargs": {"n_features": 6, "hidden": 32}}


def test_a_module_outside_tickscope_needs_to_be_allowed(monkeypatch):
    arch = {"class": "tests.support.desk_models:GRUScore", "kwargs": {"n_features": 6}}
    monkeypatch.delenv(architecture.MODULES_ENV, raising=False)
    with pytest.raises(ArchitectureError, match="TICKSCOPE_MODEL_MODULES"):
        architecture.build(arch)
    monkeypatch.setenv(architecture.MODULES_ENV, "numpy, tests")
    assert isinstance(architecture.build(arch), nn.Module)


def test_only_torch_modules_are_ever_called(monkeypatch):
    """Allowing a package does not let an artifact call anything in it: the class must be an nn.Module."""
    monkeypatch.setenv(architecture.MODULES_ENV, "tests,subprocess")
    calls = []
    monkeypatch.setattr("subprocess.Popen", lambda *a, **k: calls.append((a, k)))
    with pytest.raises(ArchitectureError, match="not a torch.nn.Module subclass"):
        architecture.build({"class": "subprocess:Popen", "kwargs": {"args": ["true"]}})
    with pytest.raises(ArchitectureError, match="not a torch.nn.Module subclass"):
        architecture.build({"class": "tests.support.desk_models:torch", "kwargs": {}})
    assert calls == []


@pytest.mark.parametrize("arch, message", [
    ({"class": "no_colon_here"}, "package.module:ClassName"),
    ({"class": "tickscope.models.lstm:Nope"}, "cannot be imported"),
    ({"class": "tickscope.models.lstm:AttentionLSTM", "kwargs": {"bogus": 1}}, "cannot be built"),
    ({"class": "tickscope.models.lstm:AttentionLSTM", "kwargs": [1, 2]}, "JSON object"),
    ({"entry_point": "no-such-model"}, "no installed package declares"),
])
def test_bad_architectures_say_why(arch, message):
    with pytest.raises(ArchitectureError, match=message):
        architecture.build(arch)


def test_entry_points_name_installed_classes(monkeypatch):
    ep = SimpleNamespace(name="desk-gru", value="tests.support.desk_models:GRUScore")
    monkeypatch.setattr(architecture, "entry_points", lambda group: [ep] if group == "tickscope.models" else [])
    monkeypatch.delenv(architecture.MODULES_ENV, raising=False)
    net = architecture.build({"entry_point": "desk-gru", "kwargs": {"hidden": 3}})
    assert net.gru.hidden_size == 3
