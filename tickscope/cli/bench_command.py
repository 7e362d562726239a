"""``tickscope bench TARGET``: the benchmarks, loaded from the repository's ``bench/`` folder.

The benchmarks are not part of the installed package: they live in ``bench/``
beside the sources (one module per target, ``bench/<target>_bench.py`` with a
``run_cli(args) -> int``), and this command loads them when that folder is
present: ``$TICKSCOPE_BENCH_DIR``, else ``./bench``, else the ``bench/`` of the
checkout tickscope is installed from (an editable install).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

TARGETS = ("model", "explain", "archive", "pipeline", "memory", "dashboard", "alerts")


def add_parser(sub):
    p = sub.add_parser("bench", help="benchmarks with their method printed (targets: " + ", ".join(TARGETS) + ")")
    p.add_argument("target", choices=TARGETS, help="what to benchmark")
    p.add_argument("--version", default=None, help="model artifact sha256 (default: the shipped DEFAULT)")
    p.add_argument("--calls", type=int, default=2000, help="timed single-window calls (default 2000)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


def bench_dir() -> Path | None:
    """The ``bench/`` folder to load benchmarks from, or None when there is none (an installed wheel)."""
    import tickscope

    candidates = [os.environ.get("TICKSCOPE_BENCH_DIR"), Path.cwd() / "bench",
                  Path(tickscope.__file__).resolve().parents[1] / "bench"]
    for c in candidates:
        if c and (Path(c) / "__init__.py").is_file():
            return Path(c).resolve()
    return None


def load_bench_package() -> Path:
    """Put the ``bench`` package on the import path; returns its folder. Raises FileNotFoundError without one."""
    where = bench_dir()
    if where is None:
        raise FileNotFoundError("no bench/ folder: benchmarks ship with the source repository, not the package "
                                "(set TICKSCOPE_BENCH_DIR or run from a checkout)")
    if str(where.parent) not in sys.path:
        sys.path.insert(0, str(where.parent))
    return where


def run(args) -> int:
    try:
        load_bench_package()
        module = importlib.import_module(f"bench.{args.target}_bench")
    except (FileNotFoundError, ImportError) as exc:
        print(f"tickscope bench: {exc}", file=sys.stderr)
        return 2
    return int(module.run_cli(args) or 0)
