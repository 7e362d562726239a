"""The shipped alert reference belongs to the shipped model."""

from __future__ import annotations

import pytest


def test_the_shipped_reference_matches_the_model(model, reference):
    assert reference["model_version"] == model.version and reference["n"] > 200
    assert sum(reference["feature_shares"]) == pytest.approx(1) and sum(reference["segment_shares"]) == pytest.approx(1)
    assert reference["lipschitz"]["radius"] > 0 and reference["stability"]["max"] > 0




def test_every_shipped_model_has_its_reference_and_one_without_attention_watches_no_attention():
    from tests.support.models import load, tcn_version
    from tickscope.detectors.reference import reference_for, reference_path

    tcn = load(tcn_version())
    assert reference_path(tcn.version).exists()
    ref = reference_for(tcn)
    assert ref["model_version"] == tcn.version and ref["n"] > 200
    assert ref["attention_shap_spearman"] == {"mean": None, "std": None, "n": 0}
    assert ref["faithfulness"]["mean"] is not None
