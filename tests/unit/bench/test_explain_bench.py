"""``tickscope bench explain`` runs end to end with tiny sizes and reports every figure."""

from __future__ import annotations


def test_bench_explain_json_shape_with_tiny_sizes():
    from bench.explain_bench import bench_explain, public

    r = public(bench_explain(n_windows=2, n_single=2, kernel_nsamples=10, gradient_nsamples=2, ig_steps=2,
                             baseline_windows=1))
    assert set(r) == {"ours", "ours_levels_only", "baselines", "reference"}
    for ours in ("ours", "ours_levels_only"):
        assert set(r[ours]) == {"p50_ms", "p99_ms", "batched_ms", "error"}
        assert r[ours]["error"] < 1e-4  # event and feature levels are exact
    assert isinstance(r["reference"], str) and r["baselines"]
    for name, m in r["baselines"].items():
        assert set(m) == {"p50_ms", "error"}, name
    import json

    json.dumps(r)
