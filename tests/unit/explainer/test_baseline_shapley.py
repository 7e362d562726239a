"""Contract checks for the explainer: completeness, exactness, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tickscope.explainer.baseline_shapley import ExplainConfig, explain


def test_all_levels_are_additive(model, windows):
    base = model.baseline.numpy()
    for w in windows:
        e = explain(model.net, w, base, seed=7)
        with torch.inference_mode():
            fx = float(model.net(torch.from_numpy(w[None]))[0])
            fb = float(model.net(torch.from_numpy(base[None]))[0])
        assert e.base_value == pytest.approx(fb, abs=1e-6)
        tol = 1e-5 * max(1.0, abs(fx))
        assert abs(e.base_value + e.cells.sum() - fx) < tol
        assert abs(e.base_value + e.features.sum() - fx) < tol
        assert abs(e.base_value + e.events.sum() - fx) < tol
        assert e.attention.sum() == pytest.approx(1.0, abs=1e-6)


def test_feature_level_matches_shap_exact_explainer(model, windows):
    import shap

    x, b = windows[1], model.baseline.numpy()
    f = x.shape[1]

    def game(masks):
        inputs = np.where(masks[:, None, :] > 0.5, x[None], b[None]).astype(np.float32)
        with torch.inference_mode():
            return model.net(torch.from_numpy(inputs))[0].double().numpy()

    masker = shap.maskers.Independent(np.zeros((1, f)))
    reference = shap.ExactExplainer(game, masker)(np.ones((1, f)))
    ours = explain(model.net, x, b, seed=1).features
    assert np.allclose(ours, reference.values[0], atol=1e-6)


def test_same_seed_is_bit_identical_and_other_seed_differs(model, windows):
    base = model.baseline.numpy()
    a = explain(model.net, windows[2], base, seed=123)
    b = explain(model.net, windows[2], base, seed=123)
    c = explain(model.net, windows[2], base, seed=124)
    assert np.array_equal(a.cells, b.cells) and np.array_equal(a.features, b.features)
    assert np.array_equal(a.events, b.events) and np.array_equal(a.attention, b.attention)
    assert not np.array_equal(a.cells, c.cells)
    assert np.array_equal(a.features, c.features)  # exact levels do not depend on the seed


def test_window_equal_to_baseline_gets_zero_attributions(model):
    base = model.baseline.numpy()
    e = explain(model.net, base.copy(), base, seed=5, config=ExplainConfig(cell_permutations=2))
    assert not e.cells.any() and not e.features.any() and not e.events.any()


def test_explain_batch_is_bit_identical_to_explain(model, windows):
    from tickscope.explainer.baseline_shapley import explain_batch

    base = model.baseline.numpy()
    batch = explain_batch(model.net, windows, base, [11, 12, 13, 14])
    for w, s, e in zip(windows, [11, 12, 13, 14], batch):
        one = explain(model.net, w, base, s)
        assert np.array_equal(one.cells, e.cells) and np.array_equal(one.events, e.events)
        assert np.array_equal(one.features, e.features) and one.quality == e.quality


def test_baseline_hash_is_the_sha256_of_the_float32_reference_window(model):
    import hashlib

    from tickscope.explainer.baseline_shapley import baseline_sha256

    b = model.baseline.numpy()
    assert b.dtype == np.float32 and b.shape == (32, 6)
    assert baseline_sha256(b) == hashlib.sha256(b.tobytes()).hexdigest()
    assert baseline_sha256(b.astype(np.float64)) == baseline_sha256(b)  # hashed as float32 whatever it arrives as
    nudged = b.copy()
    nudged[0, 0] = np.nextafter(nudged[0, 0], np.float32(1))
    assert baseline_sha256(nudged) != baseline_sha256(b)


def test_random_deletion_rows_in_the_main_pass_score_like_a_separate_forward(model, windows):
    """The random deletion sets ride in the main forward pass; their scores equal the model on those inputs."""
    from tickscope.explainer import quality as q
    from tickscope.explainer.baseline_shapley import _evaluate, _prepare

    b = model.baseline.numpy()
    config = ExplainConfig()
    job, inputs = _prepare(windows[1], b, 9, config)
    sets = [s for per_k in q.random_cells(windows[1].size, config.deletion_k, config.deletion_draws, 9) for s in per_k]
    assert np.array_equal(inputs[job.layout.deletion], q.deletion_inputs(job.x, job.b, sets))
    values, _ = _evaluate(model.net, inputs, 1)
    with torch.inference_mode():
        alone = model.net(torch.from_numpy(q.deletion_inputs(job.x, job.b, sets)))[0].double().numpy()
    assert np.allclose(values[job.layout.deletion], alone, rtol=0, atol=1e-6)


