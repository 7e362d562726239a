"""Reading a whole partition from its start to its real end (kafka-python, blocking)."""

from __future__ import annotations

from tickscope.settings import Settings


def read_partition(settings: Settings, topic: str, partition: int, quiet_ms: int = 300) -> list[bytes]:
    """Every value of one partition, from its start to its end (blocking).

    The end is where a poll comes back empty after the reported end offset has
    been reached: the embedded broker (Tansu 0.6) under-reports a partition's
    end offset (ListOffsets gave 1,127 for 1,250 contiguous records), so the
    reported end alone would silently drop the newest records.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**settings.kafka_python_config(), enable_auto_commit=False, group_id=None)
    tp = TopicPartition(topic, partition)
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        reported_end = consumer.end_offsets([tp])[tp]
        values: list[bytes] = []
        while True:
            batch = consumer.poll(timeout_ms=quiet_ms).get(tp, [])
            values.extend(r.value for r in batch)
            if not batch and consumer.position(tp) >= reported_end:
                return values
    finally:
        consumer.close()
