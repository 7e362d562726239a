"""Quality numbers of an explanation on models where the answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tickscope.explainer import quality as q
from tickscope.explainer.baseline_shapley import ExplainConfig, explain

T, F = 32, 6


class Linear(torch.nn.Module):
    """score = sum(w * x) + c; uniform attention. Its baseline Shapley values are w * (x - b)."""

    def __init__(self, w: np.ndarray, c: float = 0.25):
        super().__init__()
        self.w = torch.from_numpy(w.astype(np.float32))
        self.c = c

    def forward(self, x):
        return (x * self.w).sum(dim=(1, 2)) + self.c, torch.full(x.shape[:2], 1.0 / x.shape[1])


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(T, F))
    x = rng.normal(size=(T, F)).astype(np.float32)
    b = (0.1 * rng.normal(size=(T, F))).astype(np.float32)
    return w, x, b


def test_linear_model_cells_are_exact_and_deletion_matches_the_known_answer(case):
    w, x, b = case
    cfg = ExplainConfig(deletion_k=(4, 16, 64), deletion_draws=6)
    e = explain(Linear(w), x, b, seed=11, config=cfg)
    phi = w * (x.astype(np.float64) - b)
    assert np.allclose(e.cells, phi, atol=1e-4)  # permutation sampling is exact for an additive game
    d = e.model_value - e.base_value
    s = np.sign(d)
    for i, k in enumerate(cfg.deletion_k):
        top = np.sort(s * phi.reshape(-1))[::-1][:k].sum() / abs(d)  # the best any k-subset can do
        assert e.quality["deletion_top"][i] == pytest.approx(top, abs=1e-4)
        sets = q.random_cells(T * F, cfg.deletion_k, cfg.deletion_draws, 11)[i]
        rand = np.mean([s * phi.reshape(-1)[st].sum() / abs(d) for st in sets])
        assert e.quality["deletion_random"][i] == pytest.approx(rand, abs=1e-4)
        assert e.quality["faithfulness"][i] == pytest.approx(top - rand, abs=1e-4)
        assert e.quality["faithfulness"][i] > 0
    assert e.quality["deletion_scale"] == pytest.approx(abs(d))


def test_linear_model_stability_is_the_norm_of_the_weights_hit_by_the_perturbation(case):
    """phi_F(x) = sum_t w[t, f] (x[t, f] - b[t, f]) moves linearly with x: the ratio is ||A delta|| / ||delta||."""
    w, x, b = case
    cfg = ExplainConfig(stability_perturbations=3, stability_eps=0.01)
    e = explain(Linear(w), x, b, seed=5, config=cfg)
    raw = q.stability_perturbations(x.shape, 3, 0.01, 5)
    deltas = (x[None] + raw).astype(np.float32).astype(np.float64) - x[None]
    expected = max(np.linalg.norm((w * d).sum(axis=0)) / np.linalg.norm(d) for d in deltas)
    assert e.quality["stability"] == pytest.approx(expected, rel=1e-3)
    assert e.quality["stability"] <= np.linalg.norm(w, axis=0).max() + 1e-6  # the operator norm bounds it


def test_constant_model_has_zero_stability_and_no_deletion_ratio(case):
    _, x, b = case
    e = explain(Linear(np.zeros((T, F))), x, b, seed=2)
    assert e.quality["stability"] == 0.0
    assert e.quality["deletion_top"] is None and e.quality["faithfulness"] is None


def test_quality_is_additive_per_level_deterministic_and_seeded(case):
    w, x, b = case
    a = explain(Linear(w), x, b, seed=9)
    again = explain(Linear(w), x, b, seed=9)
    other = explain(Linear(w), x, b, seed=10)
    assert json.dumps(a.quality) == json.dumps(again.quality)
    assert a.quality["deletion_random"] != other.quality["deletion_random"]
    assert max(a.quality["additivity"].values()) < 1e-9


def test_deletion_inputs_replace_exactly_the_chosen_cells(case):
    _, x, b = case
    out = q.deletion_inputs(x, b, [np.array([0, 7]), np.array([], dtype=int)])
    assert out[0].reshape(-1)[0] == b.reshape(-1)[0] and out[0].reshape(-1)[7] == b.reshape(-1)[7]
    assert np.array_equal(np.delete(out[0].reshape(-1), [0, 7]), np.delete(x.reshape(-1), [0, 7]))
    assert np.array_equal(out[1], x)


def test_top_cells_follow_the_sign_of_the_deviation():
    cells = np.array([[1.0, -3.0], [2.0, 0.5]])
    assert q.top_cells(cells, 2, 1.0).tolist() == [2, 0]
    assert q.top_cells(cells, 1, -1.0).tolist() == [1]


