"""``tickscope bench alerts``: false alarms on stationary data and detection delays after injected regime changes.

Method (printed with the figures): the real packaged series (eurusd, sp500,
nasdaq, goog) go through the worker's own stages offline
(``tickscope.streams.offline``: detect, explain) with the model version, then
through a fresh ``AlertEngine`` with the TICKSCOPE_ALERT_* settings in force.
Stationary data: the real series, and per source a 10,000-signal stationary
block bootstrap of its records (Politis & Romano 1994, mean block 8, seeds 0-2).
Largest statistic: each detector alone, with thresholds it cannot reach, over
the real records and the seed-0 bootstraps; a threshold above it keeps that
data silent (the defaults are these maxima x 1.25, rounded up: docs/alerts.md).
Regime changes: ``tickscope.marketdata.regimes.inject`` splices each change into
EURUSD from tick 2,500; the delay is the number of the signal after the change
that raised the first alert (k: k - 1 signals passed before it). Input level:
the largest ratio of 32-tick realised volatility to the 256 ticks before, on
each real series and on EURUSD with volatility x3.
"""

from __future__ import annotations

import json
import math

import numpy as np

from tickscope.detectors import measures
from tickscope.detectors.faithfulness import FaithfulnessDecay
from tickscope.detectors.instability import Instability
from tickscope.detectors.protocol import AlertParams
from tickscope.detectors.rank_change import RankChange
from tickscope.detectors.reference import reference_for
from tickscope.detectors.share_drift import AttributionDrift, SegmentDrift
from tickscope.marketdata.regimes import INJECTIONS, inject
from tickscope.marketdata.sources import load_source
from tickscope.models.registry import load
from tickscope.streams.alert import alerts_over
from tickscope.streams.offline import explain_series

REAL_SOURCES = ("eurusd", "sp500", "nasdaq", "goog")
CUT = 2500  # the regime change starts at this tick of the real EURUSD series
BOOTSTRAP_SIGNALS = 10_000
SEEDS = (0, 1, 2)
MARGIN = 1.25  # threshold = largest stationary statistic x MARGIN, rounded up to two significant digits
UNREACHABLE = AlertParams(js_feature=1.0, js_segment=1.0, rank_margin=1.0, cusum_h=1e12, cusum_h_attention=1e12,
                          stability_factor=1e12, lipschitz_factor=1e12)
STATISTICS = {"js_feature": "js_feature", "js_segment": "js_segment", "rank_lead": "rank_margin",
              "cusum_faithfulness": "cusum_h", "cusum_attention_shap_spearman": "cusum_h_attention",
              "stability_over_reference_max": "stability_factor", "lipschitz_over_reference_max": "lipschitz_factor"}


def stationary_bootstrap(records, n: int, mean_block: float, seed: int) -> list:
    """n records resampled in blocks of geometric length (Politis & Romano 1994), with fresh signal ids."""
    rng, out = np.random.default_rng(seed), []
    while len(out) < n:
        start = int(rng.integers(len(records)))
        for j in range(int(rng.geometric(1.0 / mean_block))):
            rec = records[(start + j) % len(records)]
            out.append(rec.model_copy(update={"signal_id": f"boot{seed}-{len(out)}", "ts": len(out)}))
    return out[:n]


def statistic_trace(records, reference: dict) -> dict[str, float]:
    """The largest value of each detector's statistic over one stream (module doc: 'largest statistic')."""
    p = UNREACHABLE
    share = {"js_feature": AttributionDrift(reference, p), "js_segment": SegmentDrift(reference, p)}
    rank, faith, inst = RankChange(reference, p), FaithfulnessDecay(reference, p), Instability(reference, p)
    top = {k: 0.0 for k in STATISTICS}
    for rec in records:
        for name, det in share.items():
            det.observe(rec)
            top[name] = max(top[name], det.value or 0.0)
        rank.observe(rec)
        if rank.window.full:
            mean = rank.window.mean()
            lead_top = measures.ranking(mean)[0]
            top["rank_lead"] = max(top["rank_lead"], float(mean[lead_top] - mean[rank.reference_top]))
        faith.observe(rec)
        for name, cusum in faith.cusums.items():
            top[f"cusum_{name}"] = max(top[f"cusum_{name}"], cusum.s)
        inst.observe(rec)
        stability = rec.quality.get("stability")
        if stability is not None:
            top["stability_over_reference_max"] = max(top["stability_over_reference_max"],
                                                      stability / inst.stability_max)
        if inst.ratio is not None:
            top["lipschitz_over_reference_max"] = max(top["lipschitz_over_reference_max"],
                                                      inst.ratio / inst.lipschitz["max_ratio"])
    return top


def round_up(value: float, digits: int = 2) -> float:
    """``value`` rounded up to ``digits`` significant digits (0 stays 0)."""
    if value <= 0:
        return 0.0
    scale = 10 ** (digits - 1 - math.floor(math.log10(value)))
    return math.ceil(value * scale - 1e-9) / scale


def suggested(maxima: dict[str, float]) -> dict[str, float]:
    """TICKSCOPE_ALERT_* values that keep the measured data silent: the largest statistic x MARGIN, rounded up."""
    out: dict[str, float] = {}
    for stat, param in STATISTICS.items():
        out[param] = max(out.get(param, 0.0), round_up(maxima[stat] * MARGIN))
    return out


def injection_delays(model, reference, params, rows, cut: int) -> dict:
    """Per injected regime: signals before and after the change, and the first alerts after it."""
    original = explain_series(model, rows, "EURUSD")
    out = {}
    for kind in INJECTIONS:
        recs = explain_series(model, inject(rows, cut, kind), "EURUSD")
        first = next((i for i, r in enumerate(recs) if r.ts >= rows[cut].ts), len(recs))
        alerts = alerts_over(recs, reference, params)
        after = [(i - first + 1, a.kind, a.symbol) for i, a in alerts if i >= first]
        out[kind] = {"signals_before": first, "signals_after": len(recs) - first,
                     "alerts_before": [a.kind for i, a in alerts if i < first], "first_alerts_after": after[:4],
                     "long_short_after": _sides(recs[first:]), "long_short_after_original": _sides(
                         [r for r in original if r.ts >= rows[cut].ts]),
                     "feature_shares_after": _mean_shares(recs[first:])}
    out["original_feature_shares_after"] = _mean_shares([r for r in original if r.ts >= rows[cut].ts])
    return out


def volatility_jump(prices, short: int = 32, long: int = 256) -> float:
    """The largest ratio of the realised vol of ``short`` ticks to that of the ``long`` ticks before them: what
    an input-level monitor of the volatility level would have to tell apart from the vol x3 injection."""
    r2 = np.diff(np.log(np.asarray(prices, dtype=np.float64))) ** 2
    c = np.concatenate([[0.0], np.cumsum(r2)])
    ends = np.arange(long + short, len(r2) + 1)
    recent = np.sqrt((c[ends] - c[ends - short]) / short)
    before = np.sqrt((c[ends - short] - c[ends - short - long]) / long)
    return float(np.max(recent / np.maximum(before, 1e-300)))


def _sides(records) -> list[int]:
    return [sum(r.direction == "long" for r in records), sum(r.direction == "short" for r in records)]


def _mean_shares(records) -> list[float] | None:
    shares = [s for s in (measures.shares(r.feature_attributions) for r in records) if s is not None]
    return np.round(np.mean(shares, axis=0), 3).tolist() if shares else None


def measure(model, reference, params=None, cut: int = CUT, seeds=SEEDS) -> dict:
    """Stationary maxima, false alarms (real series and bootstraps) and injection delays, in one run."""
    params = params or AlertParams()
    real = {s: explain_series(model, load_source(s), s.upper()) for s in REAL_SOURCES}
    boots = {seed: {s: stationary_bootstrap(recs, BOOTSTRAP_SIGNALS, 8.0, seed) for s, recs in real.items()}
             for seed in seeds}
    maxima_by_source = {s: statistic_trace(recs + boots[seeds[0]][s], reference) for s, recs in real.items()}
    maxima = {k: max(m[k] for m in maxima_by_source.values()) for k in STATISTICS}
    false_alarms = {s: {"real": [a.kind for _, a in alerts_over(recs, reference, params)]} for s, recs in real.items()}
    for seed, streams in boots.items():
        for s, recs in streams.items():
            false_alarms[s][f"bootstrap_seed{seed}"] = [a.kind for _, a in alerts_over(recs, reference, params)]
    eurusd = load_source("eurusd")
    jumps = {s: volatility_jump([r.price for r in load_source(s)]) for s in REAL_SOURCES}
    jumps["eurusd with vol x3"] = volatility_jump([r.price for r in inject(eurusd, cut, "vol3")])
    return {"model_version": model.version, "params": dict(params), "volatility_jumps": jumps,
            "real_signals": {s: len(r) for s, r in real.items()}, "maxima": maxima,
            "maxima_by_source": maxima_by_source, "suggested": suggested(maxima),
            "false_alarms": false_alarms, "bootstrap_signals_per_source": BOOTSTRAP_SIGNALS,
            "injections": injection_delays(model, reference, params, eurusd, cut)}


def render(f: dict) -> list[str]:
    lines = [f"model {f['model_version']}", "largest statistic on stationary data (real + seed-0 bootstrap) -> "
             "setting that keeps it silent (x1.25, rounded up) | setting in force:"]
    for stat, param in STATISTICS.items():
        lines.append(f"  {stat:32s} {f['maxima'][stat]:9.4f} -> {param} {f['suggested'][param]:<9g} | "
                     f"{f['params'][param]:g}")
    lines.append("false alarms (alert kinds) on stationary data, settings in force:")
    for s, fa in f["false_alarms"].items():
        cells = "  ".join(f"{k} {len(v)}{sorted(set(v)) if v else ''}" for k, v in fa.items())
        lines.append(f"  {s:7s} ({f['real_signals'][s]} real signals; bootstraps {f['bootstrap_signals_per_source']:,}"
                     f" signals each): {cells}")
    inj = f["injections"]
    lines.append(f"original EURUSD after the cut: feature shares {inj['original_feature_shares_after']}")
    for kind in INJECTIONS:
        d = inj[kind]
        first = d["first_alerts_after"]
        delay = f"first alert at signal {first[0][0]} ({first[0][0] - 1} passed before it)" if first else \
            "no alert"
        lines.append(f"inject {kind:13s} at tick {CUT}: {delay}; {d['signals_after']} signals after "
                     f"(long/short {d['long_short_after']}, original {d['long_short_after_original']}), "
                     f"{d['signals_before']} before (alerts {d['alerts_before']}); first alerts {first}; "
                     f"feature shares after {d['feature_shares_after']}")
    lines.append("largest ratio of 32-tick realised vol to the 256 ticks before (an input-level view of vol x3): "
                 + ", ".join(f"{k} {v:.2f}" for k, v in f["volatility_jumps"].items()))
    return lines


def run_cli(args) -> int:
    model = load(args.version)
    figures = measure(model, reference_for(model))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print("method: " + " ".join(__doc__.split("Method (printed with the figures):")[1].split()))
    print("\n".join(render(figures)))
    return 0
