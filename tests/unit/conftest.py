"""Fixtures of the unit tier shared across its folders: the shipped model, real windows, real explanations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tickscope.detectors.reference import reference_for
from tickscope.features.window import window_from_history
from tickscope.marketdata.sources import load_source
from tickscope.models import registry
from tickscope.streams.offline import explain_series


@pytest.fixture(scope="session")
def model():
    """The shipped default model, explained on one torch thread (part of the bit-exact contract)."""
    torch.set_num_threads(1)
    return registry.load()


@pytest.fixture(scope="session")
def windows():
    """Four real EURUSD model inputs [T][F], from the first 400 ticks."""
    rows = load_source("eurusd")[:400]
    p = np.array([r.price for r in rows])
    s = np.array([r.size for r in rows])
    return [window_from_history(p[:i], s[:i]) for i in (100, 200, 300, 400)]


@pytest.fixture(scope="session")
def reference(model):
    """The shipped model's alert reference."""
    return reference_for(model)


@pytest.fixture(scope="session")
def eurusd(model):
    """Every archive record the worker's stages make of the whole real EURUSD series."""
    return explain_series(model, load_source("eurusd"), "EURUSD")


@pytest.fixture
def artifact_store(tmp_path, monkeypatch):
    """An empty registry: the package artifact dir and the data dir both under tmp_path."""
    pkg = tmp_path / "artifacts"
    pkg.mkdir()
    monkeypatch.setattr(registry, "PACKAGE_DIR", pkg)
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path / "data"))
    return pkg
