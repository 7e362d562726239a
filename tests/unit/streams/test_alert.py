"""The alert stage on real series: silent when nothing changed, firing at pinned signals when something did.

Pinned on the shipped default model with the default thresholds; the first model's pinned detection is kept
on that version explicitly, with the thresholds it was calibrated with (FIRST_MODEL_ALERT_PARAMS).
"""

from __future__ import annotations

import numpy as np
import torch

from bench.alerts_bench import stationary_bootstrap
from tests.support.models import FIRST_MODEL_ALERT_PARAMS, first_version
from tests.support.models import load as load_version
from tickscope.explainer import quality
from tickscope.explainer.quality import attention_agreement
from tickscope.marketdata.regimes import inject
from tickscope.marketdata.sources import load_source
from tickscope.streams.alert import AlertEngine, AlertParams, alert_id_for
from tickscope.streams.alert import alerts_over as run_engine
from tickscope.streams.offline import explain_series as explain_stream

CUT = 2500  # the regime change starts at this tick of the real EURUSD series


def _deletion_sets(cells: np.ndarray, base_value: float, model_value: float, ks: tuple[int, ...], draws: int,
                  seed: int) -> list[np.ndarray]:
    """The cell sets to remove, in the order ``deletion_metrics`` expects:
    for each k: top-k, then its ``draws`` random sets."""
    sign = quality.direction(base_value, model_value)
    rand = quality.random_cells(cells.size, ks, draws, seed)
    out = []
    for k, sets in zip(ks, rand):
        out.append(quality.top_cells(cells, k, sign))
        out.extend(sets)
    return out


def _faulty(record, net, baseline, seed):
    """An explainer fault: the cell attributions are shuffled; quality recomputed by the real deletion test."""
    cells = np.asarray(record.attributions)
    cells = np.random.default_rng(seed).permutation(cells.reshape(-1)).reshape(cells.shape)
    x = np.asarray(record.window, dtype=np.float32)
    full, base = record.score, record.base_value
    sets = _deletion_sets(cells, base, full, (8, 32), 4, seed)
    with torch.inference_mode():
        deleted = net(torch.from_numpy(quality.deletion_inputs(x, baseline, sets)))[0].double().numpy()
    q = dict(record.quality, **quality.deletion_metrics(full, base, deleted, (8, 32), 4))
    agreement = attention_agreement(None if record.attention is None else np.asarray(record.attention), cells)
    return record.model_copy(update={"attributions": cells.tolist(), "quality": q,
                                     "attention_shap_spearman": agreement})


class _Jumpy(torch.nn.Module):
    """The model plus a step in the last return: explanations jump under tiny perturbations."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        score, attention = self.net(x)
        return score + torch.sign(torch.sin(300.0 * x[:, -1, 0])), attention


def test_stationary_real_series_stay_silent(model, reference, eurusd):
    assert len(eurusd) == 107
    assert run_engine(eurusd, reference) == []
    assert run_engine(explain_stream(model, load_source("sp500"), "SP500"), reference) == []
    boot = stationary_bootstrap(eurusd, 3000, 8.0, seed=0)
    assert run_engine(boot, reference) == []  # 3,000 resampled real explanations: no false alarm
    engine = AlertEngine(reference)
    for rec in boot:
        engine.observe(rec, rec.ts)
    assert not engine.counts and len(engine.seen) == 3000  # every one observed: none skipped as not new


def test_the_first_models_thresholds_give_false_alarms_with_the_default_model(reference, eurusd):
    """Why the thresholds were recalibrated: the first model's values alarm on stationary data of this one."""
    boot = stationary_bootstrap(eurusd, 3000, 8.0, seed=0)
    alerts = run_engine(boot, reference, AlertParams(**FIRST_MODEL_ALERT_PARAMS))
    assert alerts and {a.kind for _, a in alerts} <= {"segment_drift", "faithfulness_decay", "rank_change"}


def test_duplicates_are_skipped_and_alert_ids_are_deterministic(reference, eurusd):
    engine = AlertEngine(reference, AlertParams(window_signals=2, js_segment=1e-6))
    first = [a for r in eurusd[:3] for a in engine.observe(r, 1)]
    again = [a for r in eurusd[:3] for a in engine.observe(r, 2)]
    assert again == [] and engine.duplicates == 3
    a = first[0]
    assert first and a.alert_id == alert_id_for(a.kind, a.metric, a.symbol, eurusd[1].signal_id)


def test_tripled_volatility_moves_the_scores_for_64_ticks_then_is_invisible(model, reference, eurusd):
    """Features are volatility-scaled: once the 64-tick history is all tripled, the windows (up to rounding of the
    rebuilt prices), the signals and their explanations are those of the real series; no alert."""
    rows = load_source("eurusd")
    recs = explain_stream(model, inject(rows, CUT, "vol3"), "EURUSD")
    settled = rows[CUT + 64].ts
    late, real_late = [r for r in recs if r.ts >= settled], [r for r in eurusd if r.ts >= settled]
    assert [r.ts for r in late] == [r.ts for r in real_late] and len(late) == 41
    np.testing.assert_allclose([r.feature_attributions for r in late], [r.feature_attributions for r in real_late],
                               rtol=1e-4, atol=1e-7)
    during = [r for r in recs if rows[CUT].ts <= r.ts < settled]
    real_during = [r for r in eurusd if rows[CUT].ts <= r.ts < settled]
    assert (len(during), len(real_during)) == (4, 1)  # the score responds while the window straddles the jump
    assert run_engine(recs, reference) == []


def test_a_trend_regime_fires_attribution_drift_and_rank_change_at_the_tenth_signal(model, reference):
    rows = load_source("eurusd")
    recs = explain_stream(model, inject(rows, CUT, "trend"), "EURUSD")
    first = next(i for i, r in enumerate(recs) if r.ts >= rows[CUT].ts)
    alerts = run_engine(recs, reference)
    assert first == 65 and all(i >= first for i, _ in alerts)
    assert [(i - first + 1, a.kind, a.symbol) for i, a in alerts][:4] == [
        (10, "attribution_drift", "EURUSD"), (10, "rank_change", "EURUSD"),
        (10, "attribution_drift", "*"), (10, "rank_change", "*")]
    a = alerts[0][1]
    assert a.value > a.threshold == AlertParams().js_feature and len(a.evidence) == AlertParams().window_signals
    assert sum(r.direction == "long" for r in recs[first:]) > 0.9 * len(recs[first:])  # a trend: volatility up


def test_a_momentum_flip_moves_explanations_but_stays_below_the_stationary_thresholds(model, reference, eurusd):
    """The flip is measurable (more signals, a larger mom_32 share), but within what stationary data shows."""
    rows = load_source("eurusd")
    recs = explain_stream(model, inject(rows, CUT, "momentum_flip"), "EURUSD")
    after, real_after = [r for r in recs if r.ts >= rows[CUT].ts], [r for r in eurusd if r.ts >= rows[CUT].ts]
    assert (len(after), len(real_after)) == (72, 42)
    mom32 = model.feature_names.index("mom_32")

    def share(records):
        return np.mean([np.abs(r.feature_attributions)[mom32] / np.abs(r.feature_attributions).sum() for r in records])

    assert share(after) > 2 * share(real_after)
    assert run_engine(recs, reference) == []


def test_faithfulness_decay_fires_within_a_few_signals_of_an_explainer_fault(model, reference, eurusd):
    base = model.baseline.numpy()
    recs = eurusd[:20] + [_faulty(r, model.net, base, i) for i, r in enumerate(eurusd[20:])]
    alerts = run_engine(recs, reference)
    assert [(i, a.kind, a.metric, a.symbol) for i, a in alerts][:2] == [
        (23, "faithfulness_decay", "cusum_faithfulness", "EURUSD"),
        (23, "faithfulness_decay", "cusum_faithfulness", "*")]
    assert all(i >= 20 for i, _ in alerts)


def test_an_unstable_model_fires_instability_at_the_first_affected_signal(model, reference, eurusd):
    from tickscope.explainer.baseline_shapley import explain

    jumpy = _Jumpy(model.net)
    base = model.baseline.numpy()
    bad = []
    for r in eurusd[12:16]:
        e = explain(jumpy, np.asarray(r.window, dtype=np.float32), base, 1)
        bad.append(r.model_copy(update={"feature_attributions": e.features.tolist(), "quality": e.quality}))
    alerts = run_engine(eurusd[:12] + bad, reference)
    assert [(i, a.kind, a.metric) for i, a in alerts][:1] == [(12, "instability", "quality_stability")]


def test_the_first_model_still_fires_segment_drift_at_the_tenth_trend_signal_with_its_thresholds():
    """The first model's pinned detection, on that version explicitly (its archived signals still replay)."""
    from tickscope.detectors.reference import reference_for

    first_model = load_version(first_version())
    reference = reference_for(first_model)
    params = AlertParams(**FIRST_MODEL_ALERT_PARAMS)
    rows = load_source("eurusd")
    real = explain_stream(first_model, rows, "EURUSD")
    assert len(real) == 44 and run_engine(real, reference, params) == []
    recs = explain_stream(first_model, inject(rows, CUT, "trend"), "EURUSD")
    first = next(i for i, r in enumerate(recs) if r.ts >= rows[CUT].ts)
    alerts = run_engine(recs, reference, params)
    assert first == 25 and all(i >= first for i, _ in alerts)
    assert [(i - first + 1, a.kind, a.symbol) for i, a in alerts] == [(10, "segment_drift", "EURUSD"),
                                                                      (10, "segment_drift", "*")]
