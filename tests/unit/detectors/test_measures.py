"""The measures detectors are built from: divergences, hysteresis, CUSUM, neighbour Lipschitz ratio."""

from __future__ import annotations

import numpy as np
import pytest

from tickscope.detectors import measures as drift


def test_jensen_shannon_is_a_bounded_symmetric_divergence_in_bits():
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.1, 0.3, 0.6])
    assert drift.jensen_shannon(p, p) == 0.0
    assert drift.jensen_shannon(p, q) == pytest.approx(drift.jensen_shannon(q, p))
    assert drift.jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)  # disjoint supports: 1 bit
    assert 0 < drift.jensen_shannon(p, q) < 1
    assert drift.psi(p, p) == 0.0 and drift.psi(p, q) > 0
    assert drift.wasserstein_positions([1, 0, 0], [0, 0, 1]) == pytest.approx(2.0)
    assert drift.shares([0.0, 0.0]) is None and drift.shares([1.0, -3.0]).tolist() == [0.25, 0.75]
    assert drift.ranking([0.1, 0.5, 0.4]) == [1, 2, 0]


def test_hysteresis_gives_one_alert_per_episode():
    gate = drift.Hysteresis(high=1.0, low=0.5, cooldown=3)
    fired = [gate.step(v) for v in [0.2, 1.5, 1.6, 0.9, 0.4, 0.4, 0.4, 1.2, None, 0.3]]
    assert [i for i, f in enumerate(fired) if f] == [1, 7]


def test_cusum_detects_a_seeded_mean_drop_at_a_pinned_index():
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(0, 1, 500), rng.normal(-1.5, 1, 100)])
    cusum = drift.Cusum(mu=0.0, sigma=1.0, k=0.5, h=10.0)
    alarms = [i for i, v in enumerate(x) if cusum.step(v)]
    assert alarms[0] == 507  # 8 samples after the change at 500; none before it
    assert cusum.step(None) is False


def test_neighbour_lipschitz_ratio():
    nb = drift.NeighbourStability(radius=1.0, history=2)
    x = np.zeros((2, 3))
    assert nb.step(x, np.array([0.0, 0.0]), "a") == (None, None)
    ratio, tag = nb.step(x + 0.1, np.array([0.3, 0.4]), "b")  # ||dx|| = 0.1 * sqrt(6)
    assert tag == "a" and ratio == pytest.approx(0.5 / (0.1 * np.sqrt(6)))
    assert nb.step(x + 5, np.array([0.0, 0.0]), "c") == (None, None)  # farther than the radius


