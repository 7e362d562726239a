"""Quality numbers in words, banded against the model version's reference (never a made-up band)."""

from __future__ import annotations

import json

from tests.support.records import figure_record
from tickscope.dashboard import quality

REF = {"faithfulness": {"mean": 0.8, "std": 0.2}, "attention_shap_spearman": {"mean": 0.1, "std": 0.3},
       "stability": {"max": 0.004, "p99": 0.003, "median": 0.0015}}


def _rec(**q):
    rec = figure_record()
    base = {"deletion_k": [8, 32], "deletion_top": [0.5, 0.9], "deletion_random": [0.1, 0.3],
            "faithfulness": [0.35, 0.6], "deletion_scale": 0.26, "stability": 0.002, "stability_eps": 0.01,
            "additivity": {"cells": 1e-7, "features": 0.0}}
    base.update(q)
    rec["quality"] = base
    return rec


def _by_start(lines):
    return {line.label.split(" ")[0] + " " + line.label.split(" ")[1]: line for line in lines}


def test_each_number_has_a_plain_label_a_meaning_and_a_band():
    lines = quality.quality_lines(_rec(), REF)
    labels = [line.label for line in lines]
    assert labels[0] == "top 8 cells matter 5.0 times more than random cells"
    assert labels[1].startswith("explanation moves ") and labels[1].endswith("% under a 1% nudge")
    assert labels[2] == "attention partly agrees with SHAP (rank correlation 0.42)"
    assert labels[3] == "SHAP values add up to the score (off by 1.5e-07)"
    assert labels[4] == "score is 0.26 away from the baseline"
    assert all(line.meaning and line.raw for line in lines)
    # faithfulness 0.35 is 2.25 sd below 0.8: unusual; spearman 0.42 is above its mean: typical; 0.002 <= p99: typical
    assert [line.band for line in lines] == ["unusual", "typical", "typical", "no reference", "no reference"]


def test_bands_follow_the_reference():
    assert quality.z_band(0.79, REF["faithfulness"])[0] == "typical"
    assert quality.z_band(0.35, REF["faithfulness"])[0] == "unusual"
    assert quality.z_band(0.1, REF["faithfulness"])[0] == "alarming"
    assert quality.stability_band(0.0035, REF["stability"], 3.0)[0] == "unusual"
    assert quality.stability_band(0.013, REF["stability"], 3.0)[0] == "alarming"


def test_no_reference_is_said_not_invented():
    for ref in (None, {}, {"faithfulness": {"mean": 0.8}}, {"faithfulness": {"mean": 0.8, "std": 0.0}}):
        line = quality.quality_lines(_rec(), ref)[0]
        assert line.band == "no reference", ref
    rec = _rec(faithfulness=None, deletion_top=None, deletion_random=None, stability=None)
    lines = quality.quality_lines(rec, REF)
    assert lines[0].band == lines[1].band == "not measured"


def test_a_model_without_attention():
    rec = _rec()
    rec["attention"] = None
    rec["attention_shap_spearman"] = None
    line = quality.quality_lines(rec, REF)[2]
    assert line.label == "this model has no attention" and line.band == "not measured"


def test_the_stability_percentage_is_relative_to_the_explanation():
    rec = _rec(stability=0.5, stability_eps=0.01)
    phi = sum(v * v for v in rec["feature_attributions"]) ** 0.5
    expected = 0.5 * 0.01 * (32 * 6) ** 0.5 / phi
    assert quality.quality_lines(rec, REF)[1].label == f"explanation moves {expected:.1%} under a 1% nudge"


def test_the_shipped_reference_is_read_and_cached(tmp_path):
    path = tmp_path / "x.reference.json"
    path.write_text(json.dumps(REF))
    assert quality.load_reference(path) == REF
    path.write_text("not json")
    import os

    os.utime(path, (1, 1))
    assert quality.load_reference(path) is None
    assert quality.load_reference(tmp_path / "missing.json") is None
