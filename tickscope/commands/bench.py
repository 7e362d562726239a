"""``tickscope bench TARGET``: micro-benchmarks, one module per target.

To add a bench (e.g. ``explain``), add an entry to ``BENCHES``:
name -> "module:function", where function(args) -> int runs it; the options
below are shared by every target.
"""

from __future__ import annotations

import importlib
import sys

BENCHES = {
    "model": "models.bench:run_cli",
    "explain": "streams.explain_bench:run_cli",
    "archive": "audit.bench:run_cli",
    "pipeline": "tickscope.bench_pipeline:run_cli",
    "dashboard": "dashboard.bench:run_cli",
    "alerts": "tickscope.commands.calibrate_alerts:bench_cli",
}


def add_parser(sub):
    p = sub.add_parser("bench", help="latency benchmarks (targets: " + ", ".join(BENCHES) + ")")
    p.add_argument("target", help="what to benchmark: " + ", ".join(BENCHES))
    p.add_argument("--version", default=None, help="model artifact sha256 (default: the shipped DEFAULT)")
    p.add_argument("--calls", type=int, default=2000, help="timed single-window calls (default 2000)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


def run(args) -> int:
    spec = BENCHES.get(args.target)
    if spec is None:
        print(
            f"tickscope bench: unknown target {args.target!r}; available: {', '.join(sorted(BENCHES))}", file=sys.stderr
        )
        return 2
    module_name, func_name = spec.split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        print(
            f"tickscope bench: target {args.target!r} is registered as {spec} but cannot be loaded ({exc})",
            file=sys.stderr,
        )
        return 2
    return int(func(args) or 0)
