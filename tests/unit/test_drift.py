"""Alert detectors: pure properties, and calibration on real series with pinned seeds and detection indices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import models
from streams import drift, quality
from streams.alerts import AlertEngine, AlertParams, alert_id_for
from streams.explain import attention_agreement
from streams.sources import load_source
from tickscope.commands.calibrate_alerts import (explain_stream, inject, reference_for, run_engine,
                                                  stationary_bootstrap)

CUT = 2500  # the regime change starts at this tick of the real EURUSD series


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


@pytest.fixture(scope="module")
def model():
    return models.load()


@pytest.fixture(scope="module")
def reference(model):
    return reference_for(model)


@pytest.fixture(scope="module")
def eurusd(model):
    return explain_stream(model, load_source("eurusd"), "EURUSD")


def test_the_shipped_reference_matches_the_model(model, reference):
    assert reference["model_version"] == model.version and reference["n"] > 200
    assert sum(reference["feature_shares"]) == pytest.approx(1) and sum(reference["segment_shares"]) == pytest.approx(1)
    assert reference["lipschitz"]["radius"] > 0 and reference["stability"]["max"] > 0


def test_stationary_real_series_stay_silent(model, reference, eurusd):
    assert len(eurusd) == 44
    assert run_engine(eurusd, reference) == []
    assert run_engine(explain_stream(model, load_source("sp500"), "SP500"), reference) == []
    boot = stationary_bootstrap(eurusd, 3000, 8.0, seed=0)
    assert run_engine(boot, reference) == []  # 3,000 resampled real explanations: no false alarm


def test_duplicates_are_skipped_and_alert_ids_are_deterministic(reference, eurusd):
    engine = AlertEngine(reference, AlertParams(window_signals=2, js_segment=1e-6))
    first = [a for r in eurusd[:3] for a in engine.observe(r, 1)]
    again = [a for r in eurusd[:3] for a in engine.observe(r, 2)]
    assert again == [] and engine.duplicates == 3
    assert first and first[0].alert_id == alert_id_for(first[0].kind, first[0].metric, first[0].symbol, eurusd[1].signal_id)


def test_tripled_volatility_is_invisible_by_design(model, reference, eurusd):
    """Features are volatility-scaled: the same windows (up to rounding of the rebuilt prices), no alert."""
    recs = explain_stream(model, inject(load_source("eurusd"), CUT, "vol3"), "EURUSD")
    assert [r.ts for r in recs] == [r.ts for r in eurusd]
    np.testing.assert_allclose([r.feature_attributions for r in recs], [r.feature_attributions for r in eurusd],
                               rtol=1e-4, atol=1e-7)
    assert run_engine(recs, reference) == []


def test_a_trend_regime_fires_segment_drift_within_ten_signals_once(model, reference):
    rows = load_source("eurusd")
    recs = explain_stream(model, inject(rows, CUT, "trend"), "EURUSD")
    first = next(i for i, r in enumerate(recs) if r.ts >= rows[CUT].ts)
    alerts = run_engine(recs, reference)
    assert first == 25 and all(i >= first for i, _ in alerts)
    assert [(i - first + 1, a.kind, a.symbol) for i, a in alerts] == [(10, "segment_drift", "EURUSD"),
                                                                      (10, "segment_drift", "*")]
    a = alerts[0][1]
    assert a.value > a.threshold == AlertParams().js_segment and len(a.evidence) == AlertParams().window_signals


def _faulty(record, net, baseline, seed):
    """An explainer fault: the cell attributions are shuffled; quality recomputed by the real deletion test."""
    cells = np.asarray(record.attributions)
    cells = np.random.default_rng(seed).permutation(cells.reshape(-1)).reshape(cells.shape)
    x = np.asarray(record.window, dtype=np.float32)
    full, base = record.score, record.base_value
    sets = quality.deletion_sets(cells, base, full, (8, 32), 4, seed)
    with torch.inference_mode():
        deleted = net(torch.from_numpy(quality.deletion_inputs(x, baseline, sets)))[0].double().numpy()
    q = dict(record.quality, **quality.deletion_metrics(full, base, deleted, (8, 32), 4))
    agreement = attention_agreement(np.asarray(record.attention), cells)
    return record.model_copy(update={"attributions": cells.tolist(), "quality": q, "attention_shap_spearman": agreement})


def test_faithfulness_decay_fires_within_a_few_signals_of_an_explainer_fault(model, reference, eurusd):
    base = model.baseline.numpy()
    recs = eurusd[:20] + [_faulty(r, model.net, base, i) for i, r in enumerate(eurusd[20:])]
    alerts = run_engine(recs, reference)
    assert [(i, a.kind, a.metric, a.symbol) for i, a in alerts][:2] == [
        (22, "faithfulness_decay", "cusum_faithfulness", "EURUSD"), (22, "faithfulness_decay", "cusum_faithfulness", "*")]
    assert all(i >= 20 for i, _ in alerts)


class _Jumpy(torch.nn.Module):
    """The model plus a step in the last return: explanations jump under tiny perturbations."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        score, attention = self.net(x)
        return score + torch.sign(torch.sin(300.0 * x[:, -1, 0])), attention


def test_an_unstable_model_fires_instability_within_two_signals(model, reference, eurusd):
    from streams.explain import explain

    jumpy = _Jumpy(model.net)
    base = model.baseline.numpy()
    bad = []
    for r in eurusd[12:16]:
        e = explain(jumpy, np.asarray(r.window, dtype=np.float32), base, 1)
        bad.append(r.model_copy(update={"feature_attributions": e.features.tolist(), "quality": e.quality}))
    alerts = run_engine(eurusd[:12] + bad, reference)
    assert [(i, a.kind, a.metric) for i, a in alerts][:1] == [(13, "instability", "quality_stability")]
