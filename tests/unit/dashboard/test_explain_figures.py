"""The signal view's waterfall, from a synthetic archive record."""

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
