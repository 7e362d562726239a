"""The bulk tick path's own failure points, against a real broker and real worker processes.

Its state is saved only every TICKSCOPE_CHECKPOINT_INTERVAL_S (here 5 s, so a kill -9 always lands between
checkpoints and seconds of ticks are re-read), and a message may hold several ticks (their offsets are
shared). Killed three times at seeded random points while ten-tick messages stream in, the worker must
archive exactly the signal ids an uninterrupted run archives, and the windows state it saved must let every
restart go on.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from kafka import KafkaProducer

from tests.support.processes import start_worker
from tests.support.topics import signal_ids_when_quiet
from tickscope.marketdata.feed import publish
from tickscope.marketdata.sources import load_source
from tickscope.transport.broker import free_port, start_broker, stop_process

pytestmark = pytest.mark.integration
FEEDS = [("eurusd", "EURUSD.M"), ("sp500", "SP500.M"), ("goog", "GOOG.M")]
TICKS = 1500
SLOW_CHECKPOINTS = {"TICKSCOPE_CHECKPOINT_INTERVAL_S": "5"}


def feed_arrays(bootstrap: str, speed: float = 0.0) -> None:
    """Every symbol in ten-tick messages, in parallel threads."""

    def one(source, symbol):
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        publish(producer, "ticks", symbol, load_source(source), speed / len(FEEDS), TICKS, per_message=10)
        producer.close()

    threads = [threading.Thread(target=one, args=feed) for feed in FEEDS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run_stack(tmp_path, kills: int) -> set[str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    listen = f"127.0.0.1:{free_port()}"
    broker = start_broker(listen, log_path=tmp_path / "broker.log")
    rng = random.Random(20261130)
    worker, _ = start_worker(listen, tmp_path / "w", **SLOW_CHECKPOINTS)
    feeder = threading.Thread(target=feed_arrays, args=(listen, 250.0 if kills else 0.0))
    feeder.start()
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(2.0, 4.5))  # shorter than the checkpoint interval: state is always behind
            worker.kill()
            worker.wait()
            worker, _ = start_worker(listen, tmp_path / "w", **SLOW_CHECKPOINTS)
        feeder.join()
        return set(signal_ids_when_quiet(listen))
    finally:
        stop_process(worker, 15)
        stop_process(broker)


def test_kill_dash_nine_between_checkpoints_with_several_ticks_per_message(tmp_path):
    reference = run_stack(tmp_path / "reference", kills=0)
    assert len(reference) >= 5, "the reference run should archive signals"
    killed = run_stack(tmp_path / "killed", kills=3)
    assert killed == reference, f"missing {sorted(reference - killed)[:5]}, extra {sorted(killed - reference)[:5]}"
