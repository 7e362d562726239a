"""A Faust agent counts and logs a gap (committed offset below the log start) once per newly assigned partition."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import REGISTRY

from tickscope.streams.agents.gaps import GapWatch, gap_size


def _gap_total(stage: str, topic: str) -> float:
    return REGISTRY.get_sample_value("tickscope_input_gap_messages_total", {"stage": stage, "topic": topic}) or 0.0


def test_gap_size():
    assert gap_size(None, 500) == 0  # never committed: the group starts at the log start by design
    assert gap_size(700, 500) == 0 and gap_size(500, 500) == 0
    assert gap_size(120, 500) == 380


def test_a_newly_assigned_partition_is_checked_once_and_its_gap_counted(caplog):
    broker = {0: (120, 500), 1: (800, 500), 2: (None, 0)}  # partition -> (committed, log start)
    asked = []

    def offsets(partition):
        asked.append(partition)
        return broker[partition]

    watch = GapWatch("explain-test", "signals-test", offsets)
    before = _gap_total("explain-test", "signals-test")
    watch.assigned({0, 1})
    with caplog.at_level(logging.ERROR, logger="tickscope.worker"):
        missed = [asyncio.run(watch.check(p)) for p in (0, 1, 0, 1)]
    assert missed == [380, 0, 0, 0] and asked == [0, 1]
    assert _gap_total("explain-test", "signals-test") - before == 380
    assert "GAP in signals-test[0]: offsets 120..499" in caplog.text
    watch.assigned({0, 1, 2})  # a rebalance that keeps 0 and 1 and adds 2: only 2 is checked
    assert [asyncio.run(watch.check(p)) for p in (0, 1, 2)] == [0, 0, 0] and asked == [0, 1, 2]
    watch.assigned({2})
    watch.assigned({0, 2})  # 0 came back: it is checked again
    asyncio.run(watch.check(0))
    assert asked == [0, 1, 2, 0]
