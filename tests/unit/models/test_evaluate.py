"""Evaluation metrics on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tickscope.contracts.canonical import json_safe as clean_json
from tickscope.models.evaluate import (
    block_indices,
    directional_accuracy,
    evaluate_scores,
    fit_ridge,
    hit_rate,
    information_coefficient,
    significance_threshold,
)


def test_directional_accuracy_known_values():
    y = np.array([1.0, -1.0, 2.0, -2.0])
    assert directional_accuracy(y, y) == 1.0
    assert directional_accuracy(-y, y) == 0.0
    assert directional_accuracy(np.zeros(4), y) == 0.5  # no call counts half
    assert directional_accuracy(np.array([1.0, 1.0, 1.0, 1.0]), y) == 0.5


def test_ic_is_spearman():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    x[:10] = 0.0  # ties
    assert information_coefficient(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert information_coefficient(np.exp(x), x) == pytest.approx(spearmanr(np.exp(x), x).statistic)
    assert np.isnan(information_coefficient(np.zeros(5), np.arange(5.0)))


def test_hit_rate_only_counts_significant():
    score = np.array([0.1, -0.1, 3.0, -3.0, 3.0])
    y = np.array([-1.0, 1.0, 1.0, -1.0, -1.0])
    rate, n = hit_rate(score, y, threshold=1.0)
    assert n == 3 and rate == pytest.approx(2 / 3)


def test_threshold_quantile_gives_the_share():
    scores = np.arange(1000.0) - 500
    thr = significance_threshold(scores, 0.975)
    assert np.mean(np.abs(scores) > thr) == pytest.approx(0.025, abs=0.002)


def test_ridge_recovers_a_linear_rule():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 4))
    w_true = np.array([1.0, -2.0, 0.0, 0.5])
    w, b = fit_ridge(x, x @ w_true + 3.0, lam=1e-6)
    np.testing.assert_allclose(w, w_true, atol=1e-6)
    assert b == pytest.approx(3.0, abs=1e-6)


def test_block_bootstrap_indices_are_contiguous_blocks():
    idx = block_indices(100, np.random.default_rng(0), block=10)
    assert len(idx) == 100
    assert np.all((np.diff(idx.reshape(10, 10), axis=1) % 100) == 1)


def test_bootstrap_cis_cover_a_known_signal_and_are_seeded():
    rng = np.random.default_rng(2)
    y = rng.normal(size=600)
    scores = {"perfect": y.copy(), "noise": rng.normal(size=600), "zero": np.zeros(600)}
    thr = {"perfect": 1.0, "noise": 1.0, "zero": 0.0}
    m = evaluate_scores(scores, y, thr, {"zero"}, seed=0)
    assert m["perfect"]["directional_accuracy"] == 1.0 and m["perfect"]["ic"] == pytest.approx(1.0)
    lo, hi = m["noise"]["ic_ci95"]
    assert lo < 0 < hi  # pure noise: the interval covers zero
    assert m["zero"]["directional_accuracy_ci95"] == [0.5, 0.5] and m["zero"]["ic_ci95"] is None
    assert m["zero"]["n_significant"] == 0 and m["zero"]["mse"] == pytest.approx(np.mean(y**2))
    assert clean_json(evaluate_scores(scores, y, thr, {"zero"}, seed=0)) == clean_json(m)  # NaN-safe equality
