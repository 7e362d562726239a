"""The archiver's reading positions: a stored offset below the log start, or offsets that jump, are gaps."""

from __future__ import annotations

from types import SimpleNamespace

from tests.support.archives import build_archive, real_records, reopen
from tickscope.audit.archive_store import open_store
from tickscope.audit.archiver import offset_jumps, plan_positions
from tickscope.audit.verify import verify_store


def test_a_stored_offset_below_the_log_start_is_a_gap_not_a_silent_skip():
    seeks, gaps = plan_positions("explanations", [0, 1, 2], {("explanations", 0): 40, ("explanations", 1): 5},
                                 {0: 10, 1: 25, 2: 7})
    assert seeks == {0: 40, 1: 25, 2: 7}
    assert [(g.partition, g.from_offset, g.to_offset, g.records) for g in gaps] == [(1, 5, 25, 20), (2, 0, 7, 7)]
    assert "deleted by the broker's retention" in gaps[0].detail


def test_a_stored_offset_beyond_the_end_reads_a_recreated_topic_from_its_start():
    seeks, gaps = plan_positions("explanations", [0, 1], {("explanations", 0): 500, ("explanations", 1): 3},
                                 {0: 0, 1: 0}, {0: 20, 1: 9})
    assert seeks == {0: 0, 1: 3} and gaps == []


def test_offsets_that_jump_inside_a_batch_are_gaps():
    expected = {("explanations", 0): 10}
    batch = [SimpleNamespace(topic="explanations", partition=0, offset=o) for o in (10, 11, 15, 16)]
    gaps = offset_jumps(expected, batch)
    assert [(g.from_offset, g.to_offset) for g in gaps] == [(12, 15)] and expected[("explanations", 0)] == 17


def test_a_recorded_gap_moves_the_offset_and_verify_reports_it(tmp_path):
    signer = build_archive(tmp_path / "a.sqlite", real_records()[:4])
    gap = plan_positions("explanations", [0], {("explanations", 0): 4}, {0: 9})[1][0]
    store = reopen(tmp_path / "a.sqlite", signer)
    store.record_gap(gap, 1_800_000_000_000)
    assert store.offsets() == {("explanations", 0): 9}
    store.close()
    with open_store(tmp_path / "a.sqlite", read_only=True) as ro:
        res = verify_store(ro, signer.public_raw)
    assert res.ok and any(w.startswith("GAP: 5 record(s) at explanations/0 offsets 4..8") for w in res.warnings)
