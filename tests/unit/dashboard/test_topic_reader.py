"""The dashboard's topic reader: it retries while the broker is down and moves past every message."""

from __future__ import annotations

import time
from types import SimpleNamespace

from tests.support.records import BASE_TS, record_bytes, tick
from tickscope.contracts.dead_letters import Source
from tickscope.dashboard.live_store import Store


def test_feed_keeps_retrying_while_the_broker_is_down():
    from tickscope.dashboard.topic_reader import KafkaFeed
    from tickscope.transport.broker import free_port

    s = Store()
    feed = KafkaFeed(s, {"bootstrap_servers": [f"127.0.0.1:{free_port()}"]}, "ticks", "explanations",
                     retry_s=0.1, connect_timeout_ms=300)
    feed.start()
    try:
        deadline = time.monotonic() + 10
        while s.snapshot_status()[0].state != "error" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert s.snapshot_status()[0].state == "error" and feed.is_alive()
    finally:
        feed.stop()
    assert not feed.is_alive()


def test_a_message_that_breaks_the_store_is_counted_and_passed():
    from tickscope.dashboard.topic_reader import KafkaFeed

    class Exploding(Store):
        def add_point(self, symbol, ts, price):
            raise RuntimeError("a bug while applying")

    s = Exploding()
    feed = KafkaFeed(s, {}, "ticks", "explanations", topic_alerts="alerts")
    value, key = tick(ts=BASE_TS)
    feed._apply("ticks", SimpleNamespace(value=value, key=key), Source("ticks", 0, 7))  # must not raise
    feed._apply("records", SimpleNamespace(value=record_bytes(BASE_TS), key=None), Source("explanations", 0, 8))
    feed._apply("alerts", SimpleNamespace(value=b"[" * 50_000, key=None), Source("alerts", 0, 9))
    counters = s.snapshot_status()[1]
    assert counters["apply_errors"] == 1 and counters["records"] == 1 and counters["alerts_rejected"] == 1
    assert s.dead_letters[-1].source_offset == 9 and s.dead_letters[-1].source_topic == "alerts"
    assert [feed._kind(t) for t in ("ticks", "explanations", "alerts")] == ["ticks", "records", "alerts"]


def test_a_partition_that_resumes_beyond_its_position_is_a_counted_gap():
    from kafka import TopicPartition

    from tickscope import metrics
    from tickscope.dashboard.topic_reader import KafkaFeed

    s = Store()
    feed = KafkaFeed(s, {}, "ticks", "explanations", topic_alerts="alerts")
    tp = TopicPartition("explanations", 2)
    gauge = metrics.INPUT_GAP.labels("dashboard", "explanations")
    before = gauge._value.get()
    feed._check_continuity(tp, 0)  # first read of a partition: from the log start, whatever it is
    feed._positions[tp] = 40
    feed._check_continuity(tp, 40)  # where it left off
    assert s.snapshot_status()[1].get("input_gap_messages", 0) == 0 and gauge._value.get() == before
    feed._check_continuity(tp, 55)  # retention deleted 40..54 while the reader was away
    assert s.snapshot_status()[1]["input_gap_messages"] == 15 and gauge._value.get() == before + 15
