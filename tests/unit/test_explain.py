"""Contract checks for the explainer: completeness, exactness, determinism."""

import itertools
from math import factorial

import numpy as np
import pytest
import torch

import models
from streams.explain import ExplainConfig, all_coalitions, explain, segment_bounds, shapley_from_values
from streams.features import window_from_history
from streams.sources import load_source


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return models.load()


@pytest.fixture(scope="module")
def windows():
    rows = load_source("eurusd")[:400]
    p = np.array([r.price for r in rows])
    s = np.array([r.size for r in rows])
    return [window_from_history(p[:i], s[:i]) for i in (100, 200, 300, 400)]


def brute_force_shapley(v, n):
    """Shapley values by the permutation definition, for small n."""
    phi = np.zeros(n)
    for order in itertools.permutations(range(n)):
        on = 0
        for player in order:
            phi[player] += v(on | (1 << player)) - v(on)
            on |= 1 << player
    return phi / factorial(n)


def test_exact_shapley_matches_the_permutation_definition():
    rng = np.random.default_rng(0)
    table = rng.normal(size=2**5)
    phi = shapley_from_values(table, 5)
    assert np.allclose(phi, brute_force_shapley(lambda m: table[m], 5), atol=1e-12)


def test_coalition_rows_follow_bit_order():
    masks = all_coalitions(3)
    assert masks.shape == (8, 3)
    assert masks[5].tolist() == [True, False, True]


def test_segments_cover_every_step_once():
    for t, g in [(32, 8), (30, 8), (64, 8)]:
        segs = segment_bounds(t, g)
        assert segs[0][0] == 0 and segs[-1][1] == t
        assert all(a[1] == b[0] for a, b in zip(segs, segs[1:]))


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


def test_archive_record_carries_quality_numbers(model, windows):
    from streams.archive import archive_record, baseline_sha256
    from streams.records import ArchiveRecord, Signal

    base = model.baseline.numpy()
    w = windows[3]
    with torch.inference_mode():
        score = float(model.net(torch.from_numpy(w[None]))[0])
    sig = Signal(signal_id="s" * 32, symbol="EURUSD", ts=1, price=1.0, model_version=model.version, score=score,
                 threshold=model.threshold, direction="long", feature_names=model.feature_names, window=w.tolist(),
                 scored_at=1)
    e = explain(model.net, w, base, seed=3)
    rec = archive_record(sig, e, ExplainConfig(), 3, baseline_sha256(base), produced_at=2)
    again = ArchiveRecord.from_json(rec.to_json())
    assert again == rec
    qual = again.quality
    assert set(qual) >= {"additivity", "stability", "deletion_k", "deletion_top", "deletion_random", "faithfulness"}
    assert max(qual["additivity"].values()) < 1e-5 * max(1.0, abs(score))
    assert qual["stability"] > 0 and len(qual["faithfulness"]) == len(ExplainConfig().deletion_k)


def test_explain_batch_is_bit_identical_to_explain(model, windows):
    from streams.explain import explain_batch

    base = model.baseline.numpy()
    batch = explain_batch(model.net, windows, base, [11, 12, 13, 14])
    for w, s, e in zip(windows, [11, 12, 13, 14], batch):
        one = explain(model.net, w, base, s)
        assert np.array_equal(one.cells, e.cells) and np.array_equal(one.events, e.events)
        assert np.array_equal(one.features, e.features) and one.quality == e.quality


def test_baseline_for_returns_the_hashed_reference_of_the_model_version(model):
    from streams.archive import baseline_sha256
    from streams.explain import baseline_for

    b = baseline_for(model.version)
    assert b.dtype == np.float32 and b.shape == tuple(model.baseline.shape)
    assert baseline_sha256(b) == baseline_sha256(model.baseline.numpy())


def test_fast_head_is_bit_identical_to_the_model_forward(model, windows):
    """The explainer's own forward (models.lstm.scores_and_attention) must give the model's floats."""
    from models.lstm import scores_and_attention

    x = torch.from_numpy(np.stack(windows).astype(np.float32))
    x = torch.cat([x, x + 0.01, x * 0.5])
    with torch.inference_mode():
        ref, fast = model.net(x), scores_and_attention(model.net, x)
    assert torch.equal(ref[0], fast[0]) and torch.equal(ref[1], fast[1])


def test_random_deletion_rows_in_the_main_pass_score_like_a_separate_forward(model, windows):
    """The random deletion sets ride in the main forward pass; their scores equal the model on those inputs."""
    from streams import quality as q
    from streams.explain import _evaluate, _prepare

    b = model.baseline.numpy()
    config = ExplainConfig()
    job, inputs = _prepare(windows[1], b, 9, config)
    sets = [s for per_k in q.random_cells(windows[1].size, config.deletion_k, config.deletion_draws, 9) for s in per_k]
    assert np.array_equal(inputs[job.layout.deletion], q.deletion_inputs(job.x, job.b, sets))
    values, _ = _evaluate(model.net, inputs, 1)
    with torch.inference_mode():
        alone = model.net(torch.from_numpy(q.deletion_inputs(job.x, job.b, sets)))[0].double().numpy()
    assert np.allclose(values[job.layout.deletion], alone, rtol=0, atol=1e-6)


def test_bench_explain_json_shape_with_tiny_sizes():
    from streams.explain_bench import bench_explain, public

    r = public(bench_explain(n_windows=2, n_single=2, kernel_nsamples=10, gradient_nsamples=2, ig_steps=2,
                             baseline_windows=1))
    assert set(r) == {"ours", "ours_levels_only", "baselines", "reference"}
    for ours in ("ours", "ours_levels_only"):
        assert set(r[ours]) == {"p50_ms", "p99_ms", "batched_ms", "error"}
        assert r[ours]["error"] < 1e-4  # event and feature levels are exact
    assert isinstance(r["reference"], str) and r["baselines"]
    for name, m in r["baselines"].items():
        assert set(m) == {"p50_ms", "error"}, name
    import json

    json.dumps(r)
