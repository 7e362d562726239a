"""Kafka helpers of the integration and end-to-end tests: feed real ticks, send raw bytes, read a topic whole."""

from __future__ import annotations

import dataclasses
import json
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tickscope.marketdata.feed import publish
from tickscope.marketdata.sources import load_source


def feed_ticks(bootstrap: str, source: str = "eurusd", symbol: str = "EURUSD", limit: int | None = None,
               speed: float = 0.0, topic: str = "ticks", end_now: bool = False) -> int:
    """Publish real market ticks with kafka-python, as ``tickscope feed`` does.

    ``end_now`` shifts the series' timestamps so its last fed tick is the wall clock: the newest events on a
    session broker that other tests fed with the same historical bars (the prices and spacing stay real)."""
    rows = load_source(source)
    if end_now:
        fed = rows[:limit] if limit else rows
        shift = int(time.time() * 1000) - fed[-1].ts
        rows = [dataclasses.replace(r, ts=r.ts + shift) for r in fed]
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        return publish(producer, topic, symbol, rows, speed, limit)
    finally:
        producer.close()


def send_raw(bootstrap: str, messages: list[tuple[bytes | None, bytes]], topic: str = "ticks") -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def read_topic(bootstrap: str, topic: str, until=None, timeout_s: float = 60.0) -> list:
    """All messages of a topic from the beginning (no consumer group), as kafka-python records.

    Stops when ``until(records)`` is true or after ``timeout_s``.
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1000)
    records: list = []
    deadline = time.monotonic() + timeout_s
    try:
        parts = None
        while time.monotonic() < deadline:
            if parts is None:
                ids = consumer.partitions_for_topic(topic)
                if ids:
                    parts = [TopicPartition(topic, p) for p in sorted(ids)]
                    consumer.assign(parts)
                    consumer.seek_to_beginning(*parts)
                else:
                    time.sleep(0.5)
                    continue
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
            if until is not None and until(records):
                break
    finally:
        consumer.close()
    return records


def json_values(records: list) -> list[dict]:
    return [json.loads(r.value) for r in records]


def signal_ids_when_quiet(bootstrap: str, quiet_s: float = 12.0, timeout_s: float = 240.0) -> list[str]:
    """Every signal_id on the archive topic (with repeats), read until none arrive for ``quiet_s``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    ids: list[str] = []
    last_new = time.monotonic()
    deadline = time.monotonic() + timeout_s
    assigned = False
    try:
        while time.monotonic() < deadline and time.monotonic() - last_new < quiet_s:
            if not assigned:
                parts = consumer.partitions_for_topic("explanations")
                if not parts:
                    time.sleep(0.5)
                    continue
                tps = [TopicPartition("explanations", p) for p in parts]
                consumer.assign(tps)
                consumer.seek_to_beginning(*tps)
                assigned = True
            for batch in consumer.poll(timeout_ms=500).values():
                ids.extend(json.loads(r.value)["signal_id"] for r in batch)  # the key is the symbol
                last_new = time.monotonic()
    finally:
        consumer.close()
    return ids
