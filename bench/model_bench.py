"""Inference latency of a model artifact on one CPU thread.

Why: the worker scores one window per significant tick, so the single-window
latency bounds its per-symbol throughput; batched numbers show what
micro-batching would buy. The method is printed with every result (METHOD).
"""

from __future__ import annotations

import platform
import time

import numpy as np

WARMUP = 50
TARGET_SINGLE_MS = 2.0
METHOD = (
    "one torch thread (torch.set_num_threads(1)), torch.inference_mode, random N(0,1) windows "
    f"(LSTM latency does not depend on values), {WARMUP} untimed warm-up calls, then time.perf_counter_ns "
    "around each forward call. Single: p50/p99/mean over N calls of a [1,T,F] batch. Batched: median over "
    "50 calls of a [B,T,F] batch divided by B (amortized per window). Wall time on a shared machine: "
    "other processes can inflate the tail."
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


def bench_model(
    version: str | None = None, n_single: int = 2000, batches=(64, 256), n_batched: int = 50, seed: int = 0
) -> dict:
    """Latency of the artifact ``version`` (default model when None); all times in ms."""
    import torch

    from tickscope.models.registry import load

    torch.set_num_threads(1)
    model = load(version)
    gen = torch.Generator().manual_seed(seed)
    shape = (model.window_t, len(model.feature_names))
    single = _time_calls(model.net, torch.randn(1, *shape, generator=gen), n_single)
    result = {
        "version": model.version,
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
        "target_single_p50_ms": TARGET_SINGLE_MS,
        "method": METHOD,
    }
    for b in batches:
        per_call = _time_calls(model.net, torch.randn(b, *shape, generator=gen), n_batched)
        med = float(np.median(per_call))
        result["batched"][str(b)] = {"calls": n_batched, "median_batch_ms": med, "per_window_ms": med / b}
    result["meets_target"] = result["single"]["p50_ms"] < TARGET_SINGLE_MS
    return result


def render(r: dict) -> str:
    s = r["single"]
    lines = [
        f"model {r['version']}  window [T={r['window'][0]}, F={r['window'][1]}]  "
        f"torch {r['torch']}  threads {r['threads']}",
        f"single window: p50 {s['p50_ms']:.3f} ms  p99 {s['p99_ms']:.3f} ms  "
        f"mean {s['mean_ms']:.3f} ms  ({s['calls']} calls)",
    ]
    for b, m in r["batched"].items():
        lines.append(
            f"batch {b:>4}: {m['median_batch_ms']:.3f} ms per batch (median of {m['calls']}), "
            f"{m['per_window_ms']:.4f} ms per window"
        )
    verdict = "meets" if r["meets_target"] else "MISSES"
    lines.append(f"target: single-window p50 < {r['target_single_p50_ms']} ms on one core -> {verdict}")
    lines.append("method: " + r["method"])
    return "\n".join(lines)


def run_cli(args) -> int:
    """Entry point for ``tickscope bench model``."""
    import json
    import sys

    from tickscope.models.registry import ModelError

    try:
        r = bench_model(args.version, n_single=args.calls)
    except ModelError as exc:
        print(f"tickscope bench model: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(r, indent=2) if args.json else render(r))
    return 0
