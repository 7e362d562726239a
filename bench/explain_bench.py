"""``tickscope bench explain``: our explainer vs SHAP / Captum baselines, side by side in one run.

Every method explains the same thing: the shipped model's score on real
windows (``load_source('eurusd')`` + ``window_from_history``), chosen like
real signals (|score| >= the model's threshold), against the baseline
window shipped with the model version (windows and baselines are built in
``bench/explain_parts.py``; this module times them and reports).

Reference: exact Shapley values of the baseline game ``v(S) = f(x_S, b_rest)``
with players = the F feature columns and, separately, the G time segments,
computed independently of tickscope.explainer by ``shap.ExactExplainer``
over a masking function written in ``bench/explain_reference.py``. Error of a method on one
window = max over both levels of |phi - phi_ref| / |f(x) - f(b)|, where
cell-level methods are summed over the cells of each group (all these
attributions are additive over cells). Reported: the max over windows.
"""

from __future__ import annotations

import platform
import time
import warnings

import numpy as np

from bench.explain_parts import baseline_methods, real_windows
from bench.explain_reference import (
    cell_level_error,
    levels_only,
    reference_shapley,
    relative_error,
)

WARMUP = 3
BATCH_ROUNDS = 5  # batched figures: median over rounds of one batch over all windows
METHOD = (
    "one torch thread, wall time by time.perf_counter around each call, {warmup} untimed warm-up calls. "
    "ours: explain() per signal cycling over the windows ({calls} calls, p50/p99); batched: median over {rounds} "
    "rounds of explain_batch over all windows / count. Baselines: one call per window (p50). Error: max over windows "
    "of max(|event err|, |feature err|) / |f(x) - f(b)| against the reference. Shared 2-core machine: compare ratios "
    "within one run."
)
REFERENCE = (
    "exact Shapley values of v(S)=f(x_S, b_rest) (baseline = the model version's shipped reference window) over "
    "the {f} feature columns and over {g} equal time segments, by shap.ExactExplainer (full enumeration of "
    "2^{f} and 2^{g} coalitions) on a masking function independent of tickscope.explainer"
)


def bench_explain(version: str | None = None, n_windows: int = 12, n_single: int = 300, kernel_nsamples: int = 100,
                  gradient_nsamples: int = 100, ig_steps: int = 50, baseline_windows: int | None = None,
                  config=None, cell_windows: int = 4) -> dict:
    """Side-by-side latency (ms) and error of ours vs the baselines; see the module doc."""
    from dataclasses import replace

    import torch

    from tickscope.contracts.ids import seed_for
    from tickscope.explainer.baseline_shapley import ExplainConfig, explain, explain_batch
    from tickscope.models.registry import load

    torch.set_num_threads(1)
    config = config or ExplainConfig()
    model = load(version)
    net, b = model.net, model.baseline.numpy().astype(np.float32)
    t, f = b.shape
    g = config.segments
    windows = real_windows(model, n_windows)
    seeds = [seed_for(f"bench-{i}") for i in range(len(windows))]
    refs = [reference_shapley(net, x, b, g) for x in windows]

    # ours: single signal, cycling over windows; error from the same explanations
    for i in range(WARMUP):
        explain(net, windows[i % len(windows)], b, seeds[i % len(windows)], config)
    single, errors = [], []
    for i in range(n_single):
        j = i % len(windows)
        t0 = time.perf_counter()
        e = explain(net, windows[j], b, seeds[j], config)
        single.append((time.perf_counter() - t0) * 1e3)
        if i < len(windows):
            errors.append(relative_error(e.events, e.features, refs[j]))
    rounds = []
    for _ in range(BATCH_ROUNDS):
        t0 = time.perf_counter()
        explain_batch(net, windows, b, seeds, config)
        rounds.append((time.perf_counter() - t0) * 1e3 / len(windows))
    batched = float(np.median(rounds))

    # the levels the speed target names (events + features), without cells / attention / quality
    levels_ms, levels_err = [], []
    for i in range(n_single):
        j = i % len(windows)
        t0 = time.perf_counter()
        ev, fe = levels_only(net, windows[j], b, config)
        levels_ms.append((time.perf_counter() - t0) * 1e3)
        if i < len(windows):
            levels_err.append(relative_error(ev, fe, refs[j]))
    rounds = []
    for _ in range(BATCH_ROUNDS):
        t0 = time.perf_counter()
        for j in range(len(windows)):
            levels_only(net, windows[j], b, config)
        rounds.append((time.perf_counter() - t0) * 1e3 / len(windows))
    levels_batched = float(np.median(rounds))

    # quality overhead and the cell-count trade-off, interleaved so that load hits both alike
    variants = {
        "with quality (default)": config,
        "without quality": ExplainConfig(segments=g, cell_permutations=config.cell_permutations,
                                         threads=config.threads, deletion_k=(), stability_perturbations=0),
        "cell_permutations=4, with quality": ExplainConfig(segments=g, cell_permutations=4, threads=config.threads),
        "segments=4, with quality": replace(config, segments=4),
        "segments=4, without quality": replace(config, segments=4, deletion_k=(), stability_perturbations=0),
    }
    variant_ms = {k: [] for k in variants}
    for i in range(max(len(windows), min(n_single, 60))):
        j = i % len(windows)
        for k, c in variants.items():
            t0 = time.perf_counter()
            explain(net, windows[j], b, seeds[j], c)
            variant_ms[k].append((time.perf_counter() - t0) * 1e3)

    cell_error = cell_level_error(net, windows[:cell_windows], b, seeds[:cell_windows], config)

    baselines, notes = {}, {}
    n_base = len(windows) if baseline_windows is None else min(baseline_windows, len(windows))
    for name, fn in baseline_methods(net, b, g, kernel_nsamples, gradient_nsamples, ig_steps).items():
        if isinstance(fn, str):
            baselines[name] = {"p50_ms": None, "error": None}
            notes[name] = fn
            continue
        times, errs = [], []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(windows[0])  # warm-up
                for j in range(n_base):
                    t0 = time.perf_counter()
                    ev, fe = fn(windows[j])
                    times.append((time.perf_counter() - t0) * 1e3)
                    errs.append(relative_error(np.asarray(ev), np.asarray(fe), refs[j]))
        except Exception as exc:  # an explainer that cannot handle the model is a result, not a crash
            baselines[name] = {"p50_ms": None, "error": None}
            notes[name] = f"fails on this model: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            continue
        baselines[name] = {"p50_ms": float(np.median(times)), "error": float(np.max(errs))}

    return {
        "ours": {
            "p50_ms": float(np.percentile(single, 50)),
            "p99_ms": float(np.percentile(single, 99)),
            "batched_ms": float(batched),
            "error": float(np.max(errors)),
        },
        "ours_levels_only": {
            "p50_ms": float(np.percentile(levels_ms, 50)),
            "p99_ms": float(np.percentile(levels_ms, 99)),
            "batched_ms": float(levels_batched),
            "error": float(np.max(levels_err)),
        },
        "baselines": baselines,
        "reference": REFERENCE.format(f=f, g=g),
        "_details": {
            "model": model.version,
            "windows": len(windows),
            "single_calls": n_single,
            "config": config.params("<model baseline>"),
            "variants_p50_ms": {k: float(np.median(v)) for k, v in variant_ms.items()},
            "cell_level_error": cell_error,
            "notes": notes,
            "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine(),
            "method": METHOD.format(warmup=WARMUP, calls=n_single, rounds=BATCH_ROUNDS),
        },
    }


def public(result: dict) -> dict:
    """The JSON contract: ours, baselines, reference."""
    return {k: result[k] for k in ("ours", "ours_levels_only", "baselines", "reference")}


def render(r: dict) -> str:
    d, o, lv = r["_details"], r["ours"], r["ours_levels_only"]
    lines = [
        f"explain bench: model {d['model'][:12]}  {d['windows']} real eurusd windows (|score| >= threshold)  "
        f"torch {d['torch']}  1 thread",
        f"reference: {r['reference']}",
        "",
        f"{'method':48s} {'p50 ms':>9s} {'p99 ms':>9s} {'error':>10s}",
        f"{'ours (tickscope.baseline-shapley, single)':48s} {o['p50_ms']:9.2f} {o['p99_ms']:9.2f} {o['error']:10.2e}",
        f"{'ours (explain_batch, per signal)':48s} {o['batched_ms']:9.2f} {'':>9s} {'':>10s}",
        f"{'ours, event + feature levels only, single':48s} {lv['p50_ms']:9.2f} {lv['p99_ms']:9.2f} "
        f"{lv['error']:10.2e}",
        f"{'ours, event + feature levels only, per signal':48s} {lv['batched_ms']:9.2f} {'':>9s} {'':>10s}",
    ]
    for name, m in r["baselines"].items():
        p50 = "n/a" if m["p50_ms"] is None else f"{m['p50_ms']:.2f}"
        err = "n/a" if m["error"] is None else f"{m['error']:.2e}"
        lines.append(f"{name:48s} {p50:>9s} {'':>9s} {err:>10s}")
    lines.append("")
    lines.append("ours, interleaved variants (p50 ms): " + ", ".join(
        f"{k} {v:.2f}" for k, v in d["variants_p50_ms"].items()))
    c = d["cell_level_error"]
    lines.append(f"cell level (an estimate) vs {c['reference_orders']} antithetic orders, {c['windows']} windows: "
                 f"sum|error| / |f(x)-f(b)| median {c['cells_l1_median']:.3f}, max {c['cells_l1_max']:.3f}; "
                 f"per-step sums median {c['steps_l1_median']:.3f}, max {c['steps_l1_max']:.3f}; "
                 f"one order without its antithetic partner: median {c['one_order_cells_l1_median']:.3f}")
    for name, note in d["notes"].items():
        lines.append(f"note {name}: {note}")
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    lines.append(f"targets: error <= 1% -> {verdict(o['error'] <= 0.01)}; single p99 <= 20 ms -> "
                 f"{verdict(o['p99_ms'] <= 20)} ({o['p99_ms']:.2f}); amortized <= 5 ms: full archived record "
                 f"(cells, event, feature levels, attention, quality) -> {verdict(o['batched_ms'] <= 5)} "
                 f"({o['batched_ms']:.2f}), event + feature levels alone -> {verdict(lv['batched_ms'] <= 5)} "
                 f"({lv['batched_ms']:.2f})")
    lines.append("method: " + d["method"])
    return "\n".join(lines)


def run_cli(args) -> int:
    """Entry point for ``tickscope bench explain``."""
    import json
    import sys

    from tickscope.models.registry import ModelError

    try:
        r = bench_explain(getattr(args, "version", None), n_single=min(int(getattr(args, "calls", 300)), 500))
    except ModelError as exc:
        print(f"tickscope bench explain: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(public(r)) if getattr(args, "json", False) else render(r))
    return 0
