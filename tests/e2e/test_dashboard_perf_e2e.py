"""50 signals/s with 100k price points in headless Chromium: every published signal reaches the screen.

Own broker, own ``tickscope dashboard`` process, synthetic schema-valid archive records published at
50/s to ``explanations`` (the harness of ``tickscope bench dashboard``). Behaviour only: every signal
appears, and a poll sends the new points, not the whole figure. How fast is for the benchmark
(docs/benchmarks.md), never for a test: a busy machine must not fail the build.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import dashboard_bench as bench
from tests.support import require

pytestmark = pytest.mark.e2e


def test_every_signal_reaches_the_screen_at_50_per_s_with_100k_points():
    if not (Path(bench.CHROMIUM).exists() and Path(bench.CHROMEDRIVER).exists()):
        require(False, "needs chromium and chromedriver")
    r = bench.run_bench(points=100_000, rate=50.0, seconds=10.0,
                        shots=Path(__file__).resolve().parent / "screenshots")
    print(bench.text_report(r))
    assert r["on_screen"] == r["published"] == 500
    assert r["inprocess_rebuild"]["incremental_json_bytes"] < 2000  # a poll sends the new points, not the figure
