"""``tickscope bench archive`` measures what it says: verify-only over whole archives, and replay at 1 and N jobs
over records that all reproduce, with the same outcomes either way. (Figures live in the benchmark, not here.)"""

from __future__ import annotations


def test_bench_archive_measures_verify_and_replay_at_one_and_two_jobs():
    from bench.archive_bench import bench_archive, render

    r = bench_archive(sizes=(30, 60), replay_n=4, jobs=2)
    rep = r["replay"]
    assert rep["records"] == rep["reproduced_1"] == rep["reproduced_n"] == 4 and rep["same_outcomes"]
    assert rep["jobs"] == 2 and r["target_speedup"] == 1.8
    assert set(r["verify"]) == {"30", "60"} and r["verify"]["60"]["heads"] == 1
    text = render(r)
    assert "1 job :" in text and "2 jobs:" in text and "method:" in text
