"""Skill on the held-out split: the model minus the best trivial baseline, with paired block-bootstrap intervals.

Every predictor here gives a *centred* score: its forecast minus ``c``, the
training-mean target (the constant forecast). The model's score is centred the
same way (models.train folds ``c`` into its head), so a score's sign says "above
/ below the unconditional forecast" for every predictor alike.

Metrics, on the test samples of each source and pooled:

- ``mse``: mean squared error of the forecast (centred score vs centred target);
- ``ic``: Spearman rank correlation of score and target; 0 for a constant score
  (a constant ranks nothing), so "model minus constant" is the model's own IC;
- ``hit``: share of windows where sign(score) == sign(target - c), a zero on
  either side counting one half (``evaluate.directional_accuracy``).

Baselines: ``constant`` (always c: centred score 0); ``har`` (HAR-L: pooled OLS of
the target on the four HAR regressors of models.dataset, fitted on the training
windows; volatility targets only); ``ridge`` (ridge on the flattened window,
lambda by validation MSE). The *best trivial baseline* is the one of constant /
HAR-L with the lowest validation MSE; ridge is reported as a second comparison.

Paired block bootstrap: each resample draws circular blocks of ``BLOCK`` samples
inside each source (a block never spans two sources; every source keeps its
size), and evaluates the model and the baseline on the SAME resample, so the
interval is for the difference itself. 95% percentile intervals, ``N_BOOT``
resamples, seeded. Consecutive targets overlap (horizon - 1 ticks), hence blocks.
"""

from __future__ import annotations

import numpy as np

from tickscope.models.evaluate import BLOCK, N_BOOT, block_indices, directional_accuracy, information_coefficient
from tickscope.models.evaluate import ridge_predictor as _ridge

METRICS = ("mse", "ic", "hit")
POOLED = "pooled"


def mse(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2)) if len(p) else float("nan")


def ic(p: np.ndarray, y: np.ndarray) -> float:
    return 0.0 if len(p) and np.ptp(p) == 0 else information_coefficient(p, y)


def hit(p: np.ndarray, y: np.ndarray) -> float:
    return directional_accuracy(p, y)


METRIC_FNS = {"mse": mse, "ic": ic, "hit": hit}


def fit_har(har: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS with intercept of y on the HAR regressors: coefficients [1 + 4]."""
    design = np.column_stack([np.ones(len(har)), har])
    return np.linalg.lstsq(design, np.asarray(y, dtype=np.float64), rcond=None)[0]


def baseline_predictors(splits: dict, target: str, c: float) -> tuple[dict, dict]:
    """Centred score functions of the baselines (``samples -> [N]``) and their descriptions."""
    train, val = splits["train"], splits["val"]
    ridge, ridge_info = _ridge(train, val)
    preds = {"constant": lambda s: np.zeros(len(s))}
    info = {"constant": f"always the training-mean target c = {c:.4f}"}
    if target == "log_vol_ratio":
        coef = fit_har(train.har, train.targets)
        preds["har"] = lambda s: coef[0] + s.har @ coef[1:] - c
        info["har"] = {"rule": "HAR-L: pooled OLS on log RMS_1/vol, log RMS_5/vol, log RMS_22/vol, log(vol/vol63), "
                               "from the window's own 64 prices", "coefficients": [float(v) for v in coef]}
    preds["ridge"] = lambda s: ridge(s) - c
    info["ridge"] = ridge_info
    return preds, info


def best_trivial(preds: dict, val, c: float) -> str:
    """The trivial baseline (constant or HAR-L) with the lowest validation MSE."""
    trivial = [n for n in ("constant", "har") if n in preds]
    if not len(val):
        return trivial[-1]
    y = val.targets.astype(np.float64) - c
    return min(trivial, key=lambda n: mse(preds[n](val), y))


def paired_block_bootstrap(metric, model: np.ndarray, baseline: np.ndarray, target: np.ndarray, groups: np.ndarray,
                           n_boot: int = N_BOOT, block: int = BLOCK, seed: int = 0) -> dict:
    """metric(model) - metric(baseline) and its 95% interval over paired, source-stratified block resamples."""
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([m[block_indices(len(m), rng, block)] for m in members])
        diffs[b] = metric(model[idx], target[idx]) - metric(baseline[idx], target[idx])
    ok = diffs[np.isfinite(diffs)]
    ci = [float(np.percentile(ok, 2.5)), float(np.percentile(ok, 97.5))] if len(ok) >= 0.5 * n_boot else None
    return {"model": metric(model, target), "baseline": metric(baseline, target),
            "diff": metric(model, target) - metric(baseline, target), "ci95": ci}


def compare(model: np.ndarray, baseline: np.ndarray, target: np.ndarray, groups: np.ndarray, names: list[str],
            seed: int) -> dict:
    """{source or 'pooled': {metric: paired_block_bootstrap}} of model minus one baseline."""
    out = {}
    for g, name in [(None, POOLED)] + list(enumerate(names)):
        mask = np.ones(len(target), bool) if g is None else groups == g
        if mask.sum() < 2:
            continue
        out[name] = {m: paired_block_bootstrap(METRIC_FNS[m], model[mask], baseline[mask], target[mask],
                                               groups[mask], seed=seed) for m in METRICS}
    return out


def skill(model_score, splits: dict, target: str, c: float, names: list[str], seed: int) -> dict:
    """The held-out skill report: baselines, the best trivial one, and model minus it (and minus ridge)."""
    preds, info = baseline_predictors(splits, target, c)
    best = best_trivial(preds, splits["val"], c)
    test = splits["test"]
    y = test.targets.astype(np.float64) - c
    scores = {name: np.asarray(f(test), dtype=np.float64) for name, f in preds.items()}
    scores["model"] = np.asarray(model_score(test), dtype=np.float64)
    return {
        "split": "test", "n_test": len(test), "target": target, "centre": c,
        "bootstrap": {"n": N_BOOT, "block": BLOCK, "seed": seed, "ci": "95% percentile, paired, blocks within source"},
        "baselines": info, "best_baseline": best,
        "vs_best": compare(scores["model"], scores[best], y, test.source, names, seed),
        "vs_ridge": compare(scores["model"], scores["ridge"], y, test.source, names, seed),
    }, scores
