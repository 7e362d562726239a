"""The gate: beyond the threshold and out of cooldown."""

from __future__ import annotations

from tickscope.streams.gate import next_cooldown, significance


def test_gate_needs_score_beyond_threshold_and_no_cooldown():
    assert significance(2.0, 1.0, 0) == "long"
    assert significance(-2.0, 1.0, 0) == "short"
    assert significance(1.0, 1.0, 0) is None
    assert significance(5.0, 1.0, 3) is None
    assert next_cooldown(0, True, 8) == 8 and next_cooldown(8, False, 8) == 7 and next_cooldown(0, False, 8) == 0


