"""The model versions shipped in the package, found by what they are (not by a hard-coded hash)."""

from __future__ import annotations

from functools import lru_cache

import torch

from tickscope.models import registry
from tickscope.models.architecture import architecture_of
from tickscope.models.registry import read_meta

FIRST_MODEL_ALERT_PARAMS = {"js_segment": 0.056, "rank_margin": 0.35, "cusum_h": 10.0, "cusum_h_attention": 10.0}
"""The TICKSCOPE_ALERT_* values calibrated for the first model (docs/alerts.md, "The first model"), the ones its
pinned detections were measured with; the other thresholds kept their values."""


def _shipped() -> dict[str, dict]:
    return {v: read_meta(p) for v, p in registry.list_versions() if p.parent == registry.PACKAGE_DIR}


@lru_cache(maxsize=None)
def first_version() -> str:
    """The first model (return target, one symmetric threshold, artifact schema 1)."""
    return next(v for v, m in _shipped().items() if int(m.get("schema_version", 0)) == 1)


@lru_cache(maxsize=None)
def tcn_version() -> str:
    """The shipped model without attention (the temporal convolution)."""
    return next(v for v, m in _shipped().items() if architecture_of(m)["class"].endswith(":TCN"))


def load(version: str):
    torch.set_num_threads(1)
    return registry.load(version)
