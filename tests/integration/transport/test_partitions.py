"""Reading a whole partition must not trust the broker's reported end offset alone."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from tickscope.settings import Settings
from tickscope.transport.partitions import read_partition

pytestmark = pytest.mark.integration


def test_read_partition_returns_every_record(broker):
    KafkaAdminClient(bootstrap_servers=broker).create_topics([NewTopic("read-partition-check", 2, 1)])
    producer = KafkaProducer(bootstrap_servers=broker, linger_ms=5, acks="all")
    for i in range(3000):
        producer.send("read-partition-check", value=str(i).encode(), partition=i % 2)
        if i % 500 == 0:
            producer.flush()
    producer.flush()
    settings = Settings(kafka_bootstrap=broker)
    for partition in (0, 1):
        values = read_partition(settings, "read-partition-check", partition)
        assert [int(v) for v in values] == list(range(partition, 3000, 2))
