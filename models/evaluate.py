"""Evaluation primitives: directional accuracy, IC, hit rate, ridge, block bootstrap.

models.skill builds the held-out skill report of a model from these (model
minus the best trivial baseline, paired intervals); ``evaluate_scores`` is the
per-predictor form with which the first model's card (4af871cc...) was made.
Every predictor maps a [T, F] window to a score; a score's sign is its
direction call. Metrics, all on the same test samples:

- ``directional_accuracy``: share of samples where sign(score) == sign(target);
  a zero score (no call) or a zero target counts 0.5, so always-zero scores 0.5.
- ``ic``: information coefficient, Spearman rank correlation of score with the
  realized forward return z; undefined (None) for a constant score.
- ``hit_rate``: directional accuracy restricted to significant signals,
  |score| > threshold, with ``n_significant`` their count. Each predictor's
  threshold follows the model's rule: the ``threshold_quantile`` quantile of
  |score| on the training windows.
- ``mse``: mean squared error vs the clipped target, only for predictors that
  forecast in target units (zero, drift, ridge, model); momentum is a signal, not a forecast.

CIs: 95% percentile intervals from a seeded circular block bootstrap over the
concatenated test samples (block = BLOCK samples). Blocks, not single samples,
because consecutive targets share horizon-1 of their horizon returns; note
that correlated sources (sp500 vs nasdaq) still make the intervals optimistic.
"""

from __future__ import annotations

import numpy as np

from tickscope.stats import spearman

N_BOOT = 1000
BLOCK = 32  # samples per bootstrap block (4x the 8-tick target overlap)
RIDGE_LAMBDAS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)


def directional_accuracy(score: np.ndarray, target: np.ndarray) -> float:
    if len(score) == 0:
        return float("nan")
    agree = np.sign(score) * np.sign(target)
    return float(np.mean(np.where(agree == 0, 0.5, agree > 0)))


def information_coefficient(score: np.ndarray, target: np.ndarray) -> float:
    """Spearman correlation; NaN when either side is constant or too short."""
    if len(score) < 3 or np.ptp(score) == 0 or np.ptp(target) == 0:
        return float("nan")
    return spearman(score, target)


def hit_rate(score: np.ndarray, target: np.ndarray, threshold: float) -> tuple[float, int]:
    mask = np.abs(score) > threshold
    return directional_accuracy(score[mask], target[mask]), int(mask.sum())


def significance_threshold(train_scores: np.ndarray, quantile: float) -> float:
    """The |score| quantile on training windows: ~(1 - quantile) of decisions are significant."""
    return float(np.quantile(np.abs(train_scores), quantile)) if len(train_scores) else 0.0


def fit_ridge(x_train: np.ndarray, y_train: np.ndarray, lam: float) -> tuple[np.ndarray, float]:
    """Closed-form ridge on flattened windows (intercept unpenalized); returns (w, b)."""
    mu, ybar = x_train.mean(axis=0), float(y_train.mean())
    xc = x_train - mu
    w = np.linalg.solve(xc.T @ xc + lam * np.eye(xc.shape[1]), xc.T @ (y_train - ybar))
    return w, ybar - float(mu @ w)


def ridge_predictor(train, val):
    """Ridge on the flattened [T*F] window, lambda picked by validation MSE."""
    flat = lambda s: s.windows.reshape(len(s), -1).astype(np.float64)  # noqa: E731
    xt, xv = flat(train), flat(val)
    best = None
    for lam in RIDGE_LAMBDAS:
        w, b = fit_ridge(xt, train.targets.astype(np.float64), lam)
        mse = float(np.mean((xv @ w + b - val.targets) ** 2)) if len(val) else 0.0
        if best is None or mse < best[0]:
            best = (mse, lam, w, b)
    _, lam, w, b = best
    return (lambda s: flat(s) @ w + b), {"lambda": lam, "features": "flattened window [T*F]"}


def point_metrics(score: np.ndarray, target: np.ndarray, threshold: float, forecast: bool) -> dict:
    hr, n_sig = hit_rate(score, target, threshold)
    out = {
        "directional_accuracy": directional_accuracy(score, target),
        "ic": information_coefficient(score, target),
        "hit_rate": hr,
        "n_significant": n_sig,
    }
    if forecast:
        out["mse"] = float(np.mean((score - target) ** 2)) if len(score) else float("nan")
    return out


def block_indices(n: int, rng: np.random.Generator, block: int = BLOCK) -> np.ndarray:
    """One circular block bootstrap resample of range(n)."""
    block = max(1, min(block, n))
    starts = rng.integers(0, n, size=-(-n // block))
    return ((starts[:, None] + np.arange(block)[None, :]) % n).ravel()[:n]


def evaluate_scores(scores: dict, target: np.ndarray, thresholds: dict, forecast: set, seed: int) -> dict:
    """Point metrics and 95% block-bootstrap CIs (same resamples for every predictor)."""
    target = np.asarray(target, dtype=np.float64)
    result = {name: point_metrics(s, target, thresholds[name], name in forecast) for name, s in scores.items()}
    if len(target) == 0:
        return result
    rng = np.random.default_rng(seed)
    boots = {name: {k: [] for k in result[name] if k != "n_significant"} for name in scores}
    for _ in range(N_BOOT):
        idx = block_indices(len(target), rng)
        for name, s in scores.items():
            m = point_metrics(s[idx], target[idx], thresholds[name], name in forecast)
            for k in boots[name]:
                boots[name][k].append(m[k])
    for name in scores:
        for k, values in boots[name].items():
            result[name][f"{k}_ci95"] = _ci(values)
    return result


def _ci(values: list[float]) -> list[float] | None:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) < 0.5 * N_BOOT:  # undefined in most resamples: no interval
        return None
    return [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]
