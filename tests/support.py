"""Helpers for tests that run real processes: broker, worker, feed, readers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.feed import publish
from streams.sources import load_source

REPO = Path(__file__).resolve().parents[1]


def test_env(bootstrap: str, data_dir: Path, **extra) -> dict:
    """Environment for a tickscope subprocess: short group timeouts so joins take seconds."""
    env = dict(os.environ)
    env.update({
        "TICKSCOPE_KAFKA_BOOTSTRAP": bootstrap,
        "TICKSCOPE_DATA_DIR": str(data_dir),
        "TICKSCOPE_METRICS_PORT": "0",
        "TICKSCOPE_BROKER_SESSION_TIMEOUT_S": "6",
        "TICKSCOPE_BROKER_REBALANCE_TIMEOUT_S": "6",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def spawn(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    """Start ``python -m tickscope ARGS`` in its own session, logging to a file."""
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "tickscope", *args], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


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


def start_worker(bootstrap: str, data_dir: Path, name: str = "worker", **extra) -> tuple[subprocess.Popen, Path]:
    """A real ``tickscope worker`` process; returns once Faust reports it ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"{name}.log"
    offset = log.stat().st_size if log.exists() else 0
    proc = spawn(["worker"], test_env(bootstrap, data_dir, **extra), log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if log.exists() and "Worker]: Ready" in log.read_text(errors="replace")[offset:]:
            return proc, log
        if proc.poll() is not None:
            raise AssertionError(f"worker exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"worker not ready within 90 s:\n{log.read_text()[-3000:]}")


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
