"""Helpers for tests that run real processes: broker, worker, feed, readers."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.feed import publish
from streams.sources import load_source
from tickscope.processes import spawn as _spawn
from tickscope.processes import start_worker, worker_env  # noqa: F401 (re-exported for tests)

REPO = Path(__file__).resolve().parents[1]


def test_env(bootstrap: str, data_dir: Path, **extra) -> dict:
    return worker_env(bootstrap, data_dir, **extra)


def spawn(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    return _spawn(args, env, log_path, cwd=REPO)


def wait_for_log(path: Path, text: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited ({proc.returncode}) before {text!r}:\n{path.read_text()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {path} within {timeout_s} s:\n{path.read_text()[-3000:] if path.exists() else ''}")


def feed_ticks(bootstrap: str, source: str = "eurusd", symbol: str = "EURUSD", limit: int | None = None,
               speed: float = 0.0, topic: str = "ticks") -> int:
    """Publish real market ticks with kafka-python, as ``tickscope feed`` does."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        return publish(producer, topic, symbol, load_source(source), speed, limit)
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
                ids.extend(r.key.decode() for r in batch)
                last_new = time.monotonic()
    finally:
        consumer.close()
    return ids


def require(available: bool, why: str) -> None:
    """Skip when a system tool is missing on a developer's machine; fail under CI, whose .ci/run installs it."""
    import os

    import pytest

    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why}: .ci/run installs it, so its absence here is a failure", pytrace=False)
    pytest.skip(why)
