"""Inference and explanation cost of model artifacts on one CPU thread, side by side.

Why: the worker scores one window per tick (batched across symbols) and explains
every significant signal with one forward pass over ~834 coalition rows, so a
model's forward cost is paid once per tick and ~834 times per signal. Without
``--version`` every shipped model is measured in the same run, so their ratios
are comparable on a busy machine. The method is printed with every result (METHOD).
"""

from __future__ import annotations

import platform
import time

import numpy as np

WARMUP = 50
TARGET_SINGLE_MS = 2.0
EXPLAIN_CALLS = 20
METHOD = (
    "one torch thread (torch.set_num_threads(1)), torch.inference_mode, random N(0,1) windows "
    f"(forward latency does not depend on values), {WARMUP} untimed warm-up calls, then time.perf_counter_ns "
    "around each forward call. Single: p50/p99/mean over N calls of a [1,T,F] batch. Batched: median over "
    "50 calls of a [B,T,F] batch divided by B (amortized per window). Explain: median over "
    f"{EXPLAIN_CALLS} calls of tickscope.explainer.explain on real EURUSD windows (the explain stage's cost per "
    "signal: one forward pass over every coalition row, plus the small deletion pass). Models are measured "
    "one after the other in one process. Wall time on a shared machine: other processes can inflate the tail."
)


def _time_calls(net, x, n: int) -> np.ndarray:
    """Per-call wall time in milliseconds."""
    import torch

    out = np.empty(n)
    with torch.inference_mode():
        for _ in range(WARMUP):
            net(x)
        for i in range(n):
            t0 = time.perf_counter_ns()
            net(x)
            out[i] = (time.perf_counter_ns() - t0) / 1e6
    return out


def _explain_ms(model, windows: np.ndarray) -> tuple[float, int]:
    """Median ms of one explanation, and the coalition rows of its main forward pass."""
    from tickscope.explainer.baseline_shapley import coalition_rows, explain

    base = model.baseline.numpy()
    times = []
    for i in range(EXPLAIN_CALLS):
        t0 = time.perf_counter_ns()
        explain(model.net, windows[i % len(windows)], base, seed=i)
        times.append((time.perf_counter_ns() - t0) / 1e6)
    t, f = base.shape
    return float(np.median(times)), coalition_rows(t, f)


def bench_model(version: str | None = None, n_single: int = 2000, batches=(64, 256), n_batched: int = 50,
                seed: int = 0) -> dict:
    """Latency of the artifact ``version`` (default model when None); all times in ms."""
    import torch

    from tickscope.marketdata.sources import load_source
    from tickscope.models.dataset import build_samples
    from tickscope.models.registry import load

    torch.set_num_threads(1)
    model = load(version)
    gen = torch.Generator().manual_seed(seed)
    shape = (model.window_t, len(model.feature_names))
    single = _time_calls(model.net, torch.randn(1, *shape, generator=gen), n_single)
    real = build_samples(load_source("eurusd")[:400], features=model.spec.feature_function,
                         window_t=model.window_t).windows
    explain_ms, rows = _explain_ms(model, real)
    arch = model.architecture
    result = {
        "version": model.version,
        "architecture": arch.get("class") or arch.get("entry_point"),
        "attention": model.has_attention,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "window": list(shape),
        "single": {
            "calls": n_single,
            "p50_ms": float(np.percentile(single, 50)),
            "p99_ms": float(np.percentile(single, 99)),
            "mean_ms": float(single.mean()),
        },
        "batched": {},
        "explain": {"median_ms": explain_ms, "coalition_rows": rows, "calls": EXPLAIN_CALLS},
        "target_single_p50_ms": TARGET_SINGLE_MS,
        "method": METHOD,
    }
    for b in batches:
        per_call = _time_calls(model.net, torch.randn(b, *shape, generator=gen), n_batched)
        med = float(np.median(per_call))
        result["batched"][str(b)] = {"calls": n_batched, "median_batch_ms": med, "per_window_ms": med / b}
    result["meets_target"] = result["single"]["p50_ms"] < TARGET_SINGLE_MS
    return result


def shipped_versions() -> list[str]:
    """The default first, then every other artifact shipped in the package."""
    from tickscope.models.registry import PACKAGE_DIR, default_version, list_versions

    default = default_version()
    return [default] + [v for v, p in list_versions() if p.parent == PACKAGE_DIR and v != default]


def render(r: dict) -> str:
    s = r["single"]
    e = r["explain"]
    lines = [
        f"model {r['version']}  {r['architecture'].split(':')[-1]} (attention {'yes' if r['attention'] else 'no'})  "
        f"window [T={r['window'][0]}, F={r['window'][1]}]  torch {r['torch']}  threads {r['threads']}",
        f"single window: p50 {s['p50_ms']:.3f} ms  p99 {s['p99_ms']:.3f} ms  "
        f"mean {s['mean_ms']:.3f} ms  ({s['calls']} calls)",
    ]
    for b, m in r["batched"].items():
        lines.append(
            f"batch {b:>4}: {m['median_batch_ms']:.3f} ms per batch (median of {m['calls']}), "
            f"{m['per_window_ms']:.4f} ms per window"
        )
    lines.append(f"explain one signal: {e['median_ms']:.1f} ms (median of {e['calls']}; {e['coalition_rows']} "
                 "coalition rows in its main forward pass)")
    verdict = "meets" if r["meets_target"] else "MISSES"
    lines.append(f"target: single-window p50 < {r['target_single_p50_ms']} ms on one core -> {verdict}")
    return "\n".join(lines)


def run_cli(args) -> int:
    """Entry point for ``tickscope bench model``: one version, or every shipped one side by side."""
    import json
    import sys

    from tickscope.models.registry import ModelError

    try:
        versions = [args.version] if args.version else shipped_versions()
        results = [bench_model(v, n_single=args.calls) for v in versions]
    except ModelError as exc:
        print(f"tickscope bench model: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))
        return 0
    print("\n\n".join(render(r) for r in results))
    if len(results) > 1:
        ref = results[0]
        print("\nratios to the default (same run): " + "; ".join(
            f"{r['version'][:12]} single {r['single']['p50_ms'] / ref['single']['p50_ms']:.2f}x, "
            f"batch 256 {r['batched']['256']['per_window_ms'] / ref['batched']['256']['per_window_ms']:.2f}x, "
            f"explain {r['explain']['median_ms'] / ref['explain']['median_ms']:.2f}x" for r in results[1:]))
    print("method: " + METHOD)
    return 0
