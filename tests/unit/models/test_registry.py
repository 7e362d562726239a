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


