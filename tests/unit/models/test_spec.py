"""A model's spec: read from artifact metadata, old and new, and refused when it cannot be served."""

from __future__ import annotations

import pytest

from tickscope.features.window import FEATURE_NAMES
from tickscope.models.spec import DEFAULT_COOLDOWN, ModelSpec, SpecError, feature_function, spec_meta

NAMES = list(FEATURE_NAMES)


def test_an_old_artifact_reads_as_a_symmetric_attention_model():
    spec = ModelSpec.from_meta({"threshold": 0.1, "feature_names": NAMES, "window_t": 32})
    assert spec.thresholds == (-0.1, 0.1) and not spec.two_sided and spec.attention
    assert spec.cooldown == DEFAULT_COOLDOWN and spec.history == 64
    assert spec.signal_threshold("short") == 0.1  # records of old models carry the one positive threshold


def test_the_spec_round_trips_through_metadata():
    meta = spec_meta(16, NAMES, "vol", (-0.4, 0.3), 5, "median", False)
    spec = ModelSpec.from_meta(meta)
    assert (spec.window_t, spec.thresholds, spec.cooldown, spec.attention) == (16, (-0.4, 0.3), 5, False)
    assert spec.history == 16 + feature_function(spec.feature_function).row_span - 1 == 48
    assert spec.signal_threshold("long") == 0.3 and spec.signal_threshold("short") == -0.4


@pytest.mark.parametrize("change, message", [
    ({"threshold_low": 0.5}, "lower < upper"),
    ({"threshold_high": float("nan")}, "finite"),
    ({"window_t": 0}, "window_t"),
    ({"cooldown": -1}, "cooldown"),
    ({"feature_names": ["a", "b"]}, "2 feature names"),
    ({"feature_function": "nope/v9"}, "unknown feature function"),
])
def test_specs_that_cannot_be_served_are_refused(change, message):
    meta = dict(spec_meta(32, NAMES, "vol", (-0.4, 0.3), 8, "median", True), **change)
    with pytest.raises(SpecError, match=message):
        ModelSpec.from_meta(meta)


def test_a_missing_field_is_named():
    with pytest.raises(SpecError, match="window_t"):
        ModelSpec.from_meta({"threshold": 0.1, "feature_names": NAMES})
