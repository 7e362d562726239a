"""The card of an artifact of the first model's kind (return target, one symmetric threshold, per-predictor
intervals in ``meta["metrics"]["predictors"]``), as it was written for 4af871cc...; models.card renders
every newer artifact. The Markdown states numbers and their intervals only; the verdict line compares
CIs mechanically so it cannot claim more than they show.
"""

from __future__ import annotations

ORDER = ("model", "ridge", "momentum", "drift", "zero")


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ci(metrics: dict, key: str) -> str:
    ci = metrics.get(f"{key}_ci95")
    return f"{_fmt(metrics.get(key))} [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else _fmt(metrics.get(key))


def metrics_table(metrics: dict) -> list[str]:
    """Markdown table rows: one per predictor, point estimate [95% CI]."""
    rows = [
        "| predictor | directional accuracy | IC (Spearman) | hit rate of significant | n significant | MSE |",
        "|---|---|---|---|---|---|",
    ]
    preds = metrics["predictors"]
    for name in [n for n in ORDER if n in preds]:
        m = preds[name]
        mse = _ci(m, "mse") if "mse" in m else "-"
        rows.append(
            f"| {name} | {_ci(m, 'directional_accuracy')} | {_ci(m, 'ic')} | {_ci(m, 'hit_rate')} "
            f"| {m['n_significant']} | {mse} |"
        )
    return rows


def verdict(metrics: dict) -> str:
    """One sentence on whether the model's IC interval clears zero and the baselines'."""
    preds = metrics["predictors"]
    model_ci = preds["model"].get("ic_ci95")
    if not model_ci:
        return "The test split is too small to put an interval on the model's IC."
    if model_ci[0] > 0:
        head = "The model's test IC interval lies above zero"
    elif model_ci[1] < 0:
        head = "The model's test IC interval lies below zero"
    else:
        head = "The model's test IC interval includes zero: no evidence of predictive skill on this split"
    better = [
        n
        for n in ("ridge", "momentum", "drift")
        if preds.get(n, {}).get("ic_ci95") and model_ci[0] > preds[n]["ic_ci95"][1]
    ]
    tail = (
        f"; it is above the interval of: {', '.join(better)}."
        if better
        else "; its interval overlaps every baseline's."
    )
    return head + tail + " " + _da_verdict(preds)


def _da_verdict(preds: dict) -> str:
    """Directional accuracy vs the best constant/simple baseline, by interval overlap."""
    model_ci = preds["model"].get("directional_accuracy_ci95")
    rivals = {n: preds[n] for n in ("drift", "momentum", "ridge") if preds.get(n, {}).get("directional_accuracy_ci95")}
    if not model_ci or not rivals:
        return ""
    best = max(rivals, key=lambda n: rivals[n]["directional_accuracy"])
    best_ci = rivals[best]["directional_accuracy_ci95"]
    if model_ci[0] > best_ci[1]:
        return f"Directional accuracy is above the best baseline's interval ({best})."
    point = _fmt(rivals[best]["directional_accuracy"])
    return f"Directional accuracy overlaps the interval of the best baseline ({best}, {point})."


def _direction_lines(m: dict) -> list[str]:
    """How often the model calls 'up' vs how often the market went up: reads hit rates in context."""
    shares = m.get("score_up_share", {}).get("model")
    if not shares or m.get("target_up_share") is None:
        return []
    sig = "n/a" if shares["significant"] is None else f"{100 * shares['significant']:.1f}%"
    return [
        f"Direction mix on test: the realized forward return was up in {100 * m['target_up_share']:.1f}% of "
        f"windows; the model called up in {100 * shares['all']:.1f}% of windows and in {sig} of its "
        "significant signals. Compare directional accuracy and hit rate with the drift baseline and this "
        "up share, not with 0.5."
    ]


def _data_rows(meta: dict) -> list[str]:
    rows = ["| source | rows | first tick | last tick | train | val | test |", "|---|---|---|---|---|---|---|"]
    for name, d in meta["data"].items():
        s = d["splits"]
        rows.append(
            f"| {name} | {d['rows']} | {d['first_ts']} | {d['last_ts']} | "
            + " | ".join(_split_cell(s[k]) for k in ("train", "val", "test"))
            + " |"
        )
    return rows


def _split_cell(split: dict) -> str:
    if not split["samples"]:
        return "0"
    return f"{split['samples']} ({split['first_end'][:10]} .. {split['last_end'][:10]})"


def render(version: str, meta: dict) -> str:
    m = meta["metrics"]
    t = meta["training"]
    lines = [
        f"# Model card: {version[:12]}",
        "",
        f"- version (sha256 of the artifact): `{version}`",
        f"- architecture: AttentionLSTM, hidden {meta['hidden']}, input [T={meta['window_t']}, F={meta['n_features']}]",
        f"- features: {', '.join(meta['feature_names'])}",
        f"- score: {meta['score_units']} (positive = up)",
        f"- significance threshold: |score| > {meta['threshold']:.4f} "
        f"({meta['threshold_rule']}, q={meta['threshold_quantile']})",
        f"- explainer baseline: {meta['baseline_rule']}",
        f"- seed {meta['seed']}; epochs run {t['epochs_run']}, best epoch {t['best_epoch']} "
        f"(validation Huber loss {t['best_val_loss']})",
        f"- hyperparameters: {meta.get('hyperparameter_selection', 'fixed')}",
        "",
        "## Data and splits",
        "",
        f"Split rule: {meta['split_rule']}. Cells: samples (first .. last window end).",
        "",
        *_data_rows(meta),
        "",
        f"## Test metrics ({m['n_test']} windows, later periods than training)",
        "",
        f"Point estimate [95% CI, circular block bootstrap, {m['bootstrap']['n']} resamples, "
        f"block {m['bootstrap']['block']}, seed {m['bootstrap']['seed']}].",
        "",
        *metrics_table(m),
        "",
        f"Model significant signals on test: {m['predictors']['model']['n_significant']} of {m['n_test']} "
        f"({100 * m['predictors']['model']['n_significant'] / max(m['n_test'], 1):.1f}%; calibrated to 2.5% on train).",
        "",
        *_direction_lines(m),
        "",
        f"Baselines: zero = {m['baselines']['zero']}; drift = {m['baselines']['drift']}; "
        f"momentum = {m['baselines']['momentum']}; "
        f"ridge = {m['baselines']['ridge']['features']}, lambda {m['baselines']['ridge']['lambda']} "
        "chosen on validation MSE.",
        "",
        f"**Reading:** {verdict(m)}",
        "",
        "## Limitations",
        "",
        "- Bars, not ticks: one tick per hourly (eurusd), daily (goog, sp500, nasdaq) or monthly (btcusd) bar.",
        "- Splits are per source; calendar periods overlap across sources (goog's test years fall in "
        "sp500/nasdaq training years), so cross-asset information can leak between splits.",
        "- sp500 and nasdaq move together, so the test windows are less independent than their count; "
        "the bootstrap intervals are optimistic for that reason.",
        "- A source too short for a split after the gap (btcusd: val and test) contributes training data only.",
        "- The threshold is calibrated on training windows; on new regimes the share of significant "
        "signals can differ from 2.5%.",
    ]
    return "\n".join(lines) + "\n"
