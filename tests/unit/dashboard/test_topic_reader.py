"""The dashboard's topic reader keeps retrying while the broker is down."""

from __future__ import annotations

import time

from tickscope.dashboard.live_store import Store

T, F = 32, 6
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
