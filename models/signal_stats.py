"""What a model's signals look like on the held-out split: spread, mix of calls, both sides, attention.

All figures take the model's centred test scores, its two thresholds (lower,
upper) and, where it says so, the centred targets:

- spread: where the thresholds sit among the test scores (share above the upper,
  below the lower) and how far significant scores go past them: quantiles of
  score / upper above it and score / lower below it (1.0 = on the threshold);
- mix of calls: share of positive scores ("long": above the unconditional
  forecast) next to the share of targets above it; mix of significant scores;
- the gate as the detect stage runs it on each source's test series in time
  order (above upper: long, below lower: short, then ``cooldown`` ticks of
  silence), so "both sides fire on each source" is the worker's own rule;
- hit rate of significant windows: sign agreement with the target, for the
  model and for the best baseline on the same windows;
- attention (models that have it): the mean entropy of the weights over T steps
  against log T (uniform attention has entropy log T, ratio 1), the mean largest
  weight against 1/T, and the mean weight per quarter of the window.
"""

from __future__ import annotations

import numpy as np

from tickscope.models.evaluate import directional_accuracy

QUANTILES = (0.5, 0.9, 1.0)


def gate_series(scores: np.ndarray, thresholds: tuple[float, float], cooldown: int) -> np.ndarray:
    """+1 (long), -1 (short) or 0 per window of one symbol's time-ordered scores (streams.gate's rule)."""
    lower, upper = thresholds
    out = np.zeros(len(scores), dtype=np.int64)
    left = 0
    for i, s in enumerate(scores):
        fired = left == 0 and (s > upper or s < lower)
        if fired:
            out[i] = 1 if s > upper else -1
        left = cooldown if fired else max(0, left - 1)
    return out


def _ratios(values: np.ndarray) -> list[float] | None:
    return [float(np.quantile(values, q)) for q in QUANTILES] if len(values) else None


def spread(scores: np.ndarray, thresholds: tuple[float, float]) -> dict:
    lower, upper = thresholds
    up, down = scores[scores > upper], scores[scores < lower]
    return {"thresholds": [lower, upper], "share_above_upper": float(np.mean(scores > upper)),
            "share_below_lower": float(np.mean(scores < lower)),
            "score_quantiles": {str(q): float(np.quantile(scores, q)) for q in (0.01, 0.05, 0.5, 0.95, 0.99)},
            "significant_over_upper": _ratios(up / upper) if upper > 0 else None,
            "significant_over_lower": _ratios(down / lower) if lower < 0 else None}


def signal_report(scores: np.ndarray, targets: np.ndarray | None, baseline: np.ndarray | None, groups: np.ndarray,
                  names: list[str], thresholds: tuple[float, float], cooldown: int) -> dict:
    """Spread, mix and gated sides per source and pooled (module doc); targets/baseline may be None."""
    out = {}
    for g, name in [(None, "pooled")] + list(enumerate(names)):
        mask = np.ones(len(scores), bool) if g is None else groups == g
        if not mask.any():
            continue
        s = scores[mask]
        sig = (s > thresholds[1]) | (s < thresholds[0])
        r = {"n": int(mask.sum()), "spread": spread(s, thresholds), "calls_long_share": float(np.mean(s > 0)),
             "significant_long": int((s > thresholds[1]).sum()), "significant_short": int((s < thresholds[0]).sum())}
        if targets is not None:
            y = targets[mask]
            r["targets_above_share"] = float(np.mean(y > 0))
            r["hit_significant"] = directional_accuracy(s[sig], y[sig]) if sig.any() else None
            if baseline is not None:
                r["hit_significant_baseline"] = directional_accuracy(baseline[mask][sig], y[sig]) if sig.any() else None
        if g is not None:
            fired = gate_series(s, thresholds, cooldown)
            r["gated_long"], r["gated_short"] = int((fired > 0).sum()), int((fired < 0).sum())
            r["both_sides_fire"] = bool(r["gated_long"] and r["gated_short"])
        out[name] = r
    return out


def attention_report(attention: np.ndarray | None) -> dict | None:
    """Entropy vs log T, largest weight vs 1/T, mean weight per quarter of the window; None without attention."""
    if attention is None or not len(attention):
        return None
    a = np.clip(np.asarray(attention, dtype=np.float64), 1e-12, 1.0)
    t = a.shape[1]
    entropy = -(a * np.log(a)).sum(axis=1)
    quarters = [float(q.sum(axis=1).mean()) for q in np.array_split(a, 4, axis=1)]
    return {"entropy_mean": float(entropy.mean()), "entropy_min": float(entropy.min()), "log_t": float(np.log(t)),
            "entropy_ratio": float(entropy.mean() / np.log(t)), "max_weight_mean": float(a.max(axis=1).mean()),
            "uniform_weight": 1.0 / t, "weight_by_quarter_oldest_first": quarters}
