"""Card statistics of signals: the gate's own rule, spread, mix, attention against uniform."""

from __future__ import annotations

import numpy as np
import pytest

from tickscope.models.signal_stats import attention_report, gate_series, signal_report
from tickscope.streams.gate import next_cooldown, significance


def test_the_card_gate_is_the_detect_stage_rule():
    scores = np.random.default_rng(0).normal(0, 0.3, 2000)
    thresholds, cooldown = (-0.45, 0.4), 8
    expected, left = [], 0
    for s in scores:
        d = significance(float(s), thresholds, left)
        expected.append({"long": 1, "short": -1, None: 0}[d])
        left = next_cooldown(left, d is not None, cooldown)
    np.testing.assert_array_equal(gate_series(scores, thresholds, cooldown), expected)


def test_the_report_counts_sides_per_source_and_says_when_one_is_missing():
    scores = np.array([0.5, 0.0, -0.5, 0.0, 0.6, 0.0, 0.1])
    groups = np.array([0, 0, 0, 0, 1, 1, 1])
    r = signal_report(scores, scores - 0.1, None, groups, ["a", "b"], (-0.4, 0.4), 0)
    assert (r["a"]["gated_long"], r["a"]["gated_short"], r["a"]["both_sides_fire"]) == (1, 1, True)
    assert (r["b"]["gated_long"], r["b"]["gated_short"], r["b"]["both_sides_fire"]) == (1, 0, False)
    assert r["pooled"]["significant_long"] == 2
    assert r["pooled"]["spread"]["significant_over_upper"][-1] == pytest.approx(1.5)
    assert r["pooled"]["hit_significant"] == 1.0


def test_uniform_attention_has_ratio_one_and_peaked_attention_less():
    t = 32
    uniform = attention_report(np.full((10, t), 1 / t))
    assert uniform["entropy_ratio"] == pytest.approx(1.0) and uniform["max_weight_mean"] == pytest.approx(1 / t)
    peaked = np.full((10, t), 0.5 / (t - 1))
    peaked[:, -1] = 0.5
    r = attention_report(peaked)
    assert r["entropy_ratio"] < 0.8 and r["weight_by_quarter_oldest_first"][-1] > 0.5
    assert attention_report(None) is None
