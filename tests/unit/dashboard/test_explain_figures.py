"""The signal view's waterfall and quality rows, from a synthetic archive record."""

from __future__ import annotations

from tests.support.records import F


def test_waterfall_goes_from_base_value_through_features_to_score(rec):
    from tickscope.dashboard import explain_figures

    fig = explain_figures.waterfall_figure(rec)
    (wf,) = fig.data
    assert wf.type == "waterfall"
    assert wf.x[0] == "base value" and wf.x[-1] == "score"
    assert wf.y[0] == rec["base_value"] and wf.y[-1] == rec["score"]
    assert list(wf.measure) == ["absolute"] + ["relative"] * F + ["absolute"]
    steps = dict(zip(wf.x[1:-1], wf.y[1:-1]))
    assert steps == dict(zip(rec["feature_names"], rec["feature_attributions"]))
    assert [abs(v) for v in wf.y[1:-1]] == sorted((abs(v) for v in rec["feature_attributions"]), reverse=True)


def test_quality_items_flatten_the_record_quality(rec):
    from tickscope.dashboard import explain_figures

    rec = dict(rec, quality={"additivity": {"cells": 1e-7, "features": 0.0}, "stability": 0.5,
                             "deletion_k": [8, 32], "faithfulness": [0.3, 0.6], "deletion_random": None})
    items = dict(explain_figures.quality_items(rec))
    assert items["additivity.cells"] == "1.000e-07" and items["additivity.features"] == "0.0000"
    assert items["faithfulness (k=8)"] == "0.3000" and items["faithfulness (k=32)"] == "0.6000"
    assert items["stability"] == "0.5000" and items["deletion_random"] == "n/a" and "deletion_k" not in items
    assert explain_figures.quality_items(dict(rec, quality={})) == []
