"""The paired, source-stratified block bootstrap and the skill report, on data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tickscope.models.skill import hit, ic, mse, paired_block_bootstrap


def _data(seed=0, n=600):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    groups = np.repeat([0, 1, 2], n // 3)
    return rng, y, groups


def test_a_predictor_against_itself_differs_by_exactly_zero():
    rng, y, groups = _data()
    p = y + rng.normal(size=len(y))
    for metric in (mse, ic, hit):
        r = paired_block_bootstrap(metric, p, p, y, groups, n_boot=200)
        assert r["diff"] == 0 and r["ci95"] == [0.0, 0.0]


def test_a_real_signal_beats_the_constant_and_noise_does_not():
    rng, y, groups = _data(1)
    good = y + 0.5 * rng.normal(size=len(y))
    noise = rng.normal(size=len(y))
    const = np.zeros(len(y))
    r = paired_block_bootstrap(ic, good, const, y, groups, n_boot=300)
    assert r["diff"] == r["model"] > 0 and r["baseline"] == 0 and r["ci95"][0] > 0
    r = paired_block_bootstrap(ic, noise, const, y, groups, n_boot=300)
    assert r["ci95"][0] < 0 < r["ci95"][1]
    assert paired_block_bootstrap(mse, good, const, y, groups, n_boot=300)["ci95"][1] < 0  # lower error


def test_pairing_makes_the_difference_interval_narrower_than_unpaired():
    """Two predictors sharing most of their error: the paired interval of the difference is tight."""
    rng, y, groups = _data(2)
    shared = y + rng.normal(size=len(y))
    a, b = shared + 0.05 * rng.normal(size=len(y)), shared + 0.05 * rng.normal(size=len(y))
    paired = paired_block_bootstrap(mse, a, b, y, groups, n_boot=300)["ci95"]
    alone = paired_block_bootstrap(mse, a, np.zeros(len(y)), y, groups, n_boot=300)["ci95"]
    assert paired[1] - paired[0] < 0.2 * (alone[1] - alone[0])


def test_resamples_keep_every_source_and_its_size():
    _, y, groups = _data(3)
    seen = []

    def sizes(p, t):
        seen.append(np.bincount(p.astype(int), minlength=3))
        return 0.0

    paired_block_bootstrap(sizes, groups.astype(float), groups.astype(float), y, groups, n_boot=20)
    assert all(np.array_equal(s, [200, 200, 200]) for s in seen)


def test_seeded():
    rng, y, groups = _data(4)
    p = y + rng.normal(size=len(y))
    one = paired_block_bootstrap(ic, p, np.zeros(len(y)), y, groups, n_boot=100, seed=7)
    assert one == paired_block_bootstrap(ic, p, np.zeros(len(y)), y, groups, n_boot=100, seed=7)
    assert one["ci95"] != paired_block_bootstrap(ic, p, np.zeros(len(y)), y, groups, n_boot=100, seed=8)["ci95"]
    assert ic(np.zeros(5), np.arange(5.0)) == 0.0 and hit(np.zeros(4), np.ones(4)) == pytest.approx(0.5)
