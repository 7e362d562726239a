"""``tickscope bench TARGET``: the benchmarks, loaded from the repository's ``bench/`` folder.

The benchmarks are not part of the installed package: they live in ``bench/``
beside the sources (one module per target, ``bench/<target>_bench.py`` with a
``run_cli(args) -> int``), and this command loads them when that folder is
present: ``$TICKSCOPE_BENCH_DIR``, else ``./bench``, else the ``bench/`` of the
checkout tickscope is installed from (an editable install).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tickscope.cli.checkout import find_folder, import_from

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
    return find_folder("bench", "TICKSCOPE_BENCH_DIR")


def run(args) -> int:
    try:
        module = import_from(bench_dir(), f"bench.{args.target}_bench",
                             "no bench/ folder: benchmarks ship with the source repository, not the package "
                             "(set TICKSCOPE_BENCH_DIR or run from a checkout)")
    except (FileNotFoundError, ImportError) as exc:
        print(f"tickscope bench: {exc}", file=sys.stderr)
        return 2
    return int(module.run_cli(args) or 0)
