"""Model cards: what an artifact is, what it was trained on, what it does on held-out data, said plainly.

Written next to the artifact as ``cards/<version>.md`` (for people) and
``cards/<version>.json`` (the artifact metadata plus its version, for tools), by
``tickscope train`` and ``tickscope model register``. Every sentence of the
"What is there" section is derived from an interval or a count (``reading``), so
the card cannot claim more than the figures show. Artifacts of the first model's
kind are rendered by models.card_legacy.
"""

from __future__ import annotations

import json
from pathlib import Path

from tickscope.models import card_legacy, research

CARDS_DIR = Path(__file__).resolve().parent / "cards"
LABELS = {"mse": "MSE", "ic": "IC (Spearman)", "hit": "hit rate"}
BASELINE_NAMES = {"constant": "constant (training mean)", "har": "HAR-L", "ridge": "ridge"}


def _f(value, digits: int = 3, sign: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _diff(d: dict) -> str:
    ci = d.get("ci95")
    text = _f(d["diff"], 3, sign=True)
    return f"{text} [{_f(ci[0], 3, True)}, {_f(ci[1], 3, True)}]" if ci else f"{text} [no interval]"


def _side_of_zero(ci, better_low: bool) -> str:
    """'better' / 'worse' / 'includes 0' for a model-minus-baseline interval (MSE: lower is better)."""
    if not ci:
        return "no interval"
    lo, hi = ci
    if (hi < 0) if better_low else (lo > 0):
        return "better"
    if (lo > 0) if better_low else (hi < 0):
        return "worse"
    return "includes 0"


def _ordered(by_source: dict) -> list:
    """(source, value) pairs: sources by name, then the pooled figures (JSON metadata is key-sorted)."""
    return sorted(by_source.items(), key=lambda kv: (kv[0] == "pooled", kv[0]))


def skill_table(comparison: dict) -> list[str]:
    rows = ["| source | n | " + " | ".join(f"{LABELS[m]}: model, baseline, model - baseline [95% CI]"
                                            for m in ("mse", "ic", "hit")) + " |", "|---|---|---|---|---|"]
    for source, d in _ordered(comparison):
        n = d.get("n", "")
        cells = [f"{_f(d[m]['model'])}, {_f(d[m]['baseline'])}, {_diff(d[m])}" for m in ("mse", "ic", "hit")]
        rows.append(f"| {source} | {n} | " + " | ".join(cells) + " |")
    return rows


def signals_table(signals: dict) -> list[str]:
    rows = ["| source | n | long calls | targets above c | significant long / short | gated long / short "
            "(cooldown) | both sides fire | hit of significant: model, best baseline |",
            "|---|---|---|---|---|---|---|---|"]
    for source, r in _ordered(signals):
        gated = f"{r['gated_long']} / {r['gated_short']}" if "gated_long" in r else "-"
        both = ("yes" if r["both_sides_fire"] else "**no**") if "both_sides_fire" in r else "-"
        above = f"{100 * r['targets_above_share']:.1f}%" if "targets_above_share" in r else "n/a"
        hits = f"{_f(r.get('hit_significant'))}, {_f(r.get('hit_significant_baseline'))}"
        rows.append(f"| {source} | {r['n']} | {100 * r['calls_long_share']:.1f}% | {above} | "
                    f"{r['significant_long']} / {r['significant_short']} | {gated} | {both} | {hits} |")
    return rows


def spread_lines(pooled: dict) -> list[str]:
    s = pooled["spread"]
    q = s["score_quantiles"]
    up, down = s["significant_over_upper"], s["significant_over_lower"]

    def ratio(r):
        return "none" if not r else f"median x{r[0]:.2f}, 90% x{r[1]:.2f}, max x{r[2]:.2f}"

    return [f"- thresholds (lower, upper): ({s['thresholds'][0]:.4f}, {s['thresholds'][1]:.4f}); test scores: "
            f"1% {q['0.01']:+.3f}, 5% {q['0.05']:+.3f}, median {q['0.5']:+.3f}, 95% {q['0.95']:+.3f}, "
            f"99% {q['0.99']:+.3f}",
            f"- beyond the upper threshold: {100 * s['share_above_upper']:.1f}% of test windows; below the lower: "
            f"{100 * s['share_below_lower']:.1f}% (calibrated to half the firing rate each on training windows)",
            f"- how far significant scores go: above the upper {ratio(up)} of it; below the lower {ratio(down)} of it"]


def attention_lines(meta: dict) -> list[str]:
    a = meta.get("attention_stats")
    if not meta.get("attention", True):
        return ["This model has no attention: records of its signals carry null attention fields, and the "
                "dashboard says so. Its explanations are the Shapley values alone."]
    if not a:
        return ["Attention was not measured for this artifact."]
    more = "more than uniform" if a["entropy_ratio"] < 0.99 else "indistinguishable from uniform"
    quarters = ", ".join(f"{100 * w:.0f}%" for w in a["weight_by_quarter_oldest_first"])
    return [f"Mean entropy of the attention weights {a['entropy_mean']:.3f} nats against log T = {a['log_t']:.3f} "
            f"for uniform weights (ratio {a['entropy_ratio']:.3f}; lowest {a['entropy_min']:.3f}): {more}. Mean "
            f"largest weight {a['max_weight_mean']:.3f} against 1/T = {a['uniform_weight']:.3f}. Weight per quarter "
            f"of the window, oldest first: {quarters}. Attention is a view of the model's internals, not by itself "
            "a faithful explanation; the Shapley values are."]


def reading(meta: dict) -> list[str]:
    """Plain sentences, each from an interval or a count (module doc)."""
    sk, out = meta["skill"], []
    base = BASELINE_NAMES[sk["best_baseline"]]
    pooled = sk["vs_best"].get("pooled")
    if pooled:
        verdicts = {m: _side_of_zero(pooled[m]["ci95"], m == "mse") for m in ("mse", "ic", "hit")}
        out.append(f"Pooled over the test split, against the best trivial baseline ({base}): "
                   + "; ".join(f"{LABELS[m]} {_diff(pooled[m])}: {v}" for m, v in verdicts.items()) + ".")
    for source, d in _ordered(sk["vs_best"]):
        if source == "pooled":
            continue
        if d["ic"]["diff"] <= 0 or _side_of_zero(d["ic"]["ci95"], False) == "worse":
            out.append(f"No skill on {source}: IC minus {base} {_diff(d['ic'])}, MSE {_diff(d['mse'])}.")
        elif _side_of_zero(d["ic"]["ci95"], False) == "includes 0":
            out.append(f"On {source} the model is ahead on points but the IC interval includes 0 ({_diff(d['ic'])}).")
    ridge = sk["vs_ridge"].get("pooled")
    if ridge:
        sides = {m: _side_of_zero(ridge[m]["ci95"], m == "mse") for m in ("mse", "ic")}
        ahead = ridge["ic"]["diff"] > 0 and ridge["mse"]["diff"] < 0
        head = "ahead of ridge on points" if ahead else "not ahead of ridge"
        tail = "its intervals include 0" if set(sides.values()) == {"includes 0"} else \
            "; ".join(f"{LABELS[m]} {v}" for m, v in sides.items())
        out.append(f"Against ridge on the flattened window (pooled): {head}; {tail} "
                   f"(IC {_diff(ridge['ic'])}, MSE {_diff(ridge['mse'])}).")
    per_source = {s: r for s, r in meta["signals"].items() if "both_sides_fire" in r}
    missing = [s for s, r in per_source.items() if not r["both_sides_fire"]]
    out.append("Both sides fire through the gate on every source's test split." if not missing else
               f"Not both sides on: {', '.join(missing)} (the gate fires one side only, or none, there).")
    out.append(attention_lines(meta)[0].split(":")[0] + "." if not meta.get("attention", True) else
               f"Attention entropy ratio {_f((meta.get('attention_stats') or {}).get('entropy_ratio'))} of uniform.")
    return [f"- {line}" for line in out]


def _research_lines() -> list[str]:
    rows = ["| target | held-out figures (3 seeds) | verdict |", "|---|---|---|"]
    rows += [f"| {t} | {fig} | {v} |" for t, fig, v in research.TARGETS]
    arch = ["| architecture | IC minus HAR-L | MSE minus HAR-L | CPU s per run |", "|---|---|---|---|"]
    arch += [f"| {a} | {ic} | {m} | {s} |" for a, ic, m, s in research.ARCHITECTURES]
    return ["The return targets showed no skill; forward volatility (target c) did, against HAR-L, in every seed. "
            "Figures of the research round (models.research, docs/models.md; not re-run by `tickscope train`):",
            "", *rows, "", *arch, "", "Gate:", "", *[f"- {g}" for g in research.GATES]]


def _data_rows(meta: dict) -> list[str]:
    rows = ["| source | rows | first tick | last tick | train | val | test |", "|---|---|---|---|---|---|---|"]
    for name, d in meta["data"].items():
        cells = [f"{s['samples']} ({s['first_end'][:10]} .. {s['last_end'][:10]})" if s["samples"] else "0"
                 for s in (d["splits"][k] for k in ("train", "val", "test"))]
        rows.append(f"| {name} | {d['rows']} | {d['first_ts']} | {d['last_ts']} | " + " | ".join(cells) + " |")
    return rows


def _header(version: str, meta: dict) -> list[str]:
    arch = meta["architecture"]
    t = meta.get("training") or {}
    lines = [f"# Model card: {version[:12]}", "", f"- version (sha256 of the artifact): `{version}`",
             f"- architecture: `{arch.get('class') or arch.get('entry_point')}` {json.dumps(arch.get('kwargs', {}))}; "
             f"attention: {'yes' if meta.get('attention', True) else 'no'}",
             f"- input: [T={meta['window_t']}, F={len(meta['feature_names'])}] from feature function "
             f"`{meta.get('feature_function')}`: {', '.join(meta['feature_names'])}",
             f"- score: {meta.get('output')}"]
    for side, text in (meta.get("directions") or {}).items():
        lines.append(f"- {side}: {text}")
    lines += [f"- thresholds: lower {meta['threshold_low']:.4f}, upper {meta['threshold_high']:.4f} "
              f"({meta.get('threshold_rule', 'given by the spec')}); cooldown {meta.get('cooldown')} ticks",
              f"- explainer baseline: {meta.get('baseline_rule')}"]
    if t:
        lines.append(f"- seed {meta.get('seed')}; epochs run {t['epochs_run']}, best epoch {t['best_epoch']} "
                     f"(validation {t.get('loss', 'loss')} {t['best_val_loss']}); "
                     f"{meta.get('hyperparameter_selection')}")
    return lines


def render(version: str, meta: dict) -> str:
    if "skill" not in meta:
        if "metrics" in meta and "predictors" in meta["metrics"]:
            return card_legacy.render(version, meta)
        return render_unmeasured(version, meta)
    sk = meta["skill"]
    best = BASELINE_NAMES[sk["best_baseline"]]
    coef = (sk["baselines"].get("har") or {}).get("coefficients")
    boot = sk["bootstrap"]
    lines = [
        *_header(version, meta), "", "## What is there", "", *reading(meta), "",
        "## Why this target", "", *_research_lines(), "",
        "## Data and splits", "", f"Split rule: {meta['split_rule']}. Cells: samples (first .. last window end).", "",
        *_data_rows(meta), "",
        f"## Skill on the held-out split ({sk['n_test']} test windows, later periods than training)", "",
        f"Scores and targets are centred on c = {sk['centre']:.4f}, the training-mean target. Best trivial baseline "
        f"by validation MSE: **{best}**" + (f" (coefficients {[round(v, 3) for v in coef]})" if coef else "") +
        f". Paired block bootstrap: {boot['n']} resamples, block {boot['block']}, seed {boot['seed']}, blocks "
        "drawn inside each source, model and baseline on the same resamples. Hit rate: sign(score) = sign(target - c).",
        "", f"Model against {best}:", "", *skill_table(_with_n(sk["vs_best"], meta)), "",
        "Model against ridge on the flattened window (not a trivial baseline; lambda by validation MSE):", "",
        *skill_table(_with_n(sk["vs_ridge"], meta)), "",
        "## Signals on the held-out split", "", *spread_lines(meta["signals"]["pooled"]), "",
        "Long = score above the upper threshold, short = below the lower. Gated: the detect stage's rule on each "
        "source's test series in time order (a signal, then the cooldown).", "",
        *signals_table(meta["signals"]), "",
        "## Attention", "", *attention_lines(meta), "", *_registration(meta), *_limitations(),
    ]
    return "\n".join(lines) + "\n"


def _with_n(comparison: dict, meta: dict) -> dict:
    return {s: dict(d, n=meta["signals"].get(s, {}).get("n", "")) for s, d in comparison.items()}


def render_unmeasured(version: str, meta: dict) -> str:
    """A registered model whose target tickscope does not know: its spec, checks, and signals only."""
    lines = [*_header(version, meta), "", "## What is there", "",
             "- Skill was not measured: registration checks that the model runs and can be served, not what its "
             "score is worth (a model trained by `tickscope train` carries its held-out skill). The figures below "
             "describe its scores on the packaged held-out data."]
    if meta.get("signals"):
        lines += ["", "## Signals on the packaged held-out split", "", *spread_lines(meta["signals"]["pooled"]), "",
                  *signals_table(meta["signals"])]
    lines += ["", *_registration(meta), "## Attention", "", *attention_lines(meta)]
    return "\n".join(lines) + "\n"


def _registration(meta: dict) -> list[str]:
    checks = (meta.get("registration") or {}).get("checks")
    return ["## Registration checks", "", *[f"- {c}" for c in checks], ""] if checks else []


def _limitations() -> list[str]:
    return ["## Limitations", "",
            "- Bars, not ticks: one tick per hourly (eurusd) or daily (goog, sp500, nasdaq) bar.",
            "- Splits are per source; calendar periods overlap across sources (goog's test years fall in "
            "sp500/nasdaq training years), so cross-asset information can leak between splits.",
            "- sp500 and nasdaq move together, so the pooled test windows are less independent than their count.",
            "- The thresholds are calibrated on training windows; on new regimes the share of significant signals "
            "and the balance of the two sides can differ.",
            "- Features are volatility-scaled: a lasting change of the volatility level is invisible to the model "
            "after about 64 ticks (docs/alerts.md)."]


def write_card(version: str, meta: dict, cards_dir: Path = CARDS_DIR) -> tuple[Path, Path]:
    """Write cards_dir/<version>.md and .json; returns both paths."""
    cards_dir.mkdir(parents=True, exist_ok=True)
    md, js = cards_dir / f"{version}.md", cards_dir / f"{version}.json"
    md.write_text(render(version, meta))
    js.write_text(json.dumps({"version": version, **meta}, indent=2, sort_keys=True) + "\n")
    return md, js
