"""The shipped alert reference belongs to the shipped model."""

from __future__ import annotations

import pytest


def test_the_shipped_reference_matches_the_model(model, reference):
    assert reference["model_version"] == model.version and reference["n"] > 200
    assert sum(reference["feature_shares"]) == pytest.approx(1) and sum(reference["segment_shares"]) == pytest.approx(1)
    assert reference["lipschitz"]["radius"] > 0 and reference["stability"]["max"] > 0


