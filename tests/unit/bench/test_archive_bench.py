"""``tickscope bench archive`` times the explanation where replay calls it."""

from __future__ import annotations


def test_bench_archive_times_the_explanation_inside_replay():
    """The replay figure splits its time into the explanation and the rest; the split must see the explain call."""
    from bench.archive_bench import bench_archive

    r = bench_archive(sizes=(40,), replay_n=3)
    rep = r["replay"]
    assert rep["reproduced"] == rep["records"] == 3
    assert rep["explain_ms_per_record"] > 0.5  # an explanation costs milliseconds, never ~0
    assert rep["explain_ms_per_record"] < rep["seconds"] / rep["records"] * 1e3
