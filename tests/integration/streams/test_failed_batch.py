"""A batch that fails ends the worker process, instead of an agent restarted in place behind offsets it can never
commit: real broker, real worker, a real failure (the alerts changelog lacks the partition its state is in).
"""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from tests.support.processes import start_worker
from tests.support.topics import feed_ticks
from tickscope.settings import Settings
from tickscope.transport.broker import free_port, start_broker, stop_process

pytestmark = pytest.mark.integration
SYMBOL = "EURUSD"  # partition 1 of 4 (murmur2), so its alert state goes to changelog partition 1


def test_an_alert_batch_that_cannot_load_its_state_ends_the_worker(tmp_path):
    listen = f"127.0.0.1:{free_port()}"
    broker = start_broker(listen, log_path=tmp_path / "broker.log")
    worker = None
    try:
        admin = KafkaAdminClient(bootstrap_servers=listen)
        admin.create_topics([NewTopic(Settings().alerts_changelog_topic, 1, 1)])  # one partition, not four
        admin.close()
        worker, log = start_worker(listen, tmp_path / "w")
        feed_ticks(listen, "eurusd", SYMBOL, limit=1500)
        deadline = time.monotonic() + 240
        while worker.poll() is None and time.monotonic() < deadline:
            time.sleep(1.0)
        text = log.read_text()
        assert worker.poll() is not None, f"the worker lives on after a failed batch:\n{text[-3000:]}"
        assert worker.returncode == 70
        assert "a batch failed; exiting (status 70)" in text
    finally:
        if worker is not None:
            stop_process(worker, 15)
        stop_process(broker)
