"""Registry: round trip, and every bad artifact becomes a ModelError with a clear message."""

from __future__ import annotations

import hashlib

import pytest
import torch

from tickscope.models import registry
from tickscope.models.lstm import AttentionLSTM
from tickscope.models.registry import ModelError

META = {"threshold": 0.5, "feature_names": list("abcdef"), "window_t": 32, "horizon": 8}


def _net(seed: int = 0) -> AttentionLSTM:
    torch.manual_seed(seed)
    return AttentionLSTM(6, hidden=8)


def test_round_trip(artifact_store):
    net, baseline = _net(), torch.randn(32, 6)
    version = registry.save(net, baseline, META, artifact_store)
    assert version == hashlib.sha256((artifact_store / f"{version}.safetensors").read_bytes()).hexdigest()
    loaded = registry.load(version)
    assert loaded.threshold == 0.5 and loaded.window_t == 32 and loaded.feature_names == list("abcdef")
    assert torch.equal(loaded.baseline, baseline)
    x = torch.randn(3, 32, 6)
    net.eval()
    assert torch.equal(loaded.net(x)[0], net(x)[0])
    assert registry.save(net, baseline, META, artifact_store) == version  # same bytes, same name
    registry.set_default(version)
    assert registry.load().version == version
    assert [v for v, _ in registry.list_versions()] == [version]


def test_unknown_version(artifact_store):
    with pytest.raises(ModelError, match="not found"):
        registry.load("0" * 64)
    with pytest.raises(ModelError, match="not a sha256"):
        registry.load("latest")


def test_missing_default(artifact_store):
    with pytest.raises(ModelError, match="no default model"):
        registry.load()


@pytest.mark.parametrize("damage", ["truncate", "flip", "header"])
def test_corrupt_or_truncated(artifact_store, damage):
    version = registry.save(_net(), torch.zeros(32, 6), META, artifact_store)
    path = artifact_store / f"{version}.safetensors"
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "flip":
        blob[-10] ^= 0xFF
    else:
        blob[8:20] = b"\xff" * 12
    path.write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="corrupt"):
        registry.load(version)


def test_corrupt_header_even_when_renamed_to_its_hash(artifact_store):
    """A damaged file whose name matches its new hash still fails on the header."""
    blob = b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!"
    version = hashlib.sha256(blob).hexdigest()
    (artifact_store / f"{version}.safetensors").write_bytes(blob)
    with pytest.raises(ModelError, match="corrupt or truncated"):
        registry.load(version)


def test_newer_schema(artifact_store, monkeypatch):
    monkeypatch.setattr(registry, "ARTIFACT_SCHEMA_VERSION", registry.ARTIFACT_SCHEMA_VERSION + 1)
    version = registry.save(_net(), torch.zeros(32, 6), META, artifact_store)
    monkeypatch.setattr(registry, "ARTIFACT_SCHEMA_VERSION", registry.ARTIFACT_SCHEMA_VERSION - 1)
    with pytest.raises(ModelError, match="newer than this tickscope"):
        registry.load(version)




def test_a_model_other_than_the_lstm_round_trips_with_its_architecture(artifact_store):
    from tickscope.models import architecture
    from tickscope.models.spec import spec_meta

    arch = architecture.named("tcn", n_features=6, hidden=4)
    torch.manual_seed(1)
    net = architecture.build(arch)
    meta = dict(spec_meta(32, list("abcdef"), "test", (-0.3, 0.2), 4, "zeros", False), architecture=arch)
    version = registry.save(net, torch.zeros(32, 6), meta, artifact_store)
    loaded = registry.load(version)
    assert type(loaded.net).__name__ == "TCN" and not loaded.has_attention and loaded.cooldown == 4
    x = torch.randn(3, 32, 6)
    net.eval()
    assert torch.equal(loaded.net(x)[0], net(x)[0]) and loaded.net(x)[1] is None
    assert registry.load_file(artifact_store / f"{version}.safetensors").version == version
    with pytest.raises(ModelError, match="architecture"):
        registry.save(net, torch.zeros(32, 6), {k: v for k, v in meta.items() if k != "architecture"},
                      artifact_store)


def test_weights_that_do_not_fit_the_named_architecture_are_a_model_error(artifact_store):
    from tickscope.models import architecture

    meta = dict(META, architecture=architecture.named("tcn", n_features=6, hidden=8))
    version = registry.save(_net(), torch.zeros(32, 6), meta, artifact_store)  # LSTM weights, TCN named
    with pytest.raises(ModelError, match="does not match its architecture tickscope.models.tcn:TCN"):
        registry.load(version)


def test_every_shipped_version_loads():
    from tests.support.models import first_version, tcn_version

    first, tcn, default = registry.load(first_version()), registry.load(tcn_version()), registry.load()
    assert first.thresholds[0] == -first.thresholds[1] and first.has_attention  # the first model, as archived
    assert default.version not in (first.version, tcn.version) and default.has_attention
    assert not tcn.has_attention and default.thresholds[0] < 0 < default.thresholds[1]
