"""The gate: beyond the threshold and out of cooldown."""

from __future__ import annotations

import numpy as np

from tickscope.streams.gate import next_cooldown, significance


def test_gate_needs_score_beyond_threshold_and_no_cooldown():
    assert significance(2.0, (-1.0, 1.0), 0) == "long"
    assert significance(-2.0, (-1.0, 1.0), 0) == "short"
    assert significance(1.0, (-1.0, 1.0), 0) is None
    assert significance(5.0, (-1.0, 1.0), 3) is None


def test_two_sided_thresholds_need_not_be_symmetric():
    from tickscope.streams.gate import near_either_threshold

    assert significance(0.3, (-0.4, 0.39), 0) is None and significance(0.4, (-0.4, 0.39), 0) == "long"
    assert significance(-0.41, (-0.4, 0.39), 0) == "short"
    scores = np.array([0.0, 0.3899999, 0.45, -0.3999998, -0.2])
    assert near_either_threshold(scores, (-0.4, 0.39)).tolist() == [1, 2, 3]
    assert next_cooldown(0, True, 8) == 8 and next_cooldown(8, False, 8) == 7 and next_cooldown(0, False, 8) == 0


