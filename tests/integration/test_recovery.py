"""Nothing lost, nothing doubled: kill -9 and scale-out against a real broker and real workers.

Each scenario feeds the same real ticks (several symbols over several
partitions) into a fresh broker; the set of archived signal_ids must equal
that of an uninterrupted run. Duplicates are allowed on the wire (delivery is
at-least-once) and are de-duplicated by signal_id, so sets are compared.
"""

from __future__ import annotations

import random
import re
import threading
import time

import pytest

from tests.support.processes import start_worker
from tests.support.topics import feed_ticks, signal_ids_when_quiet
from tickscope.transport.broker import free_port, start_broker, stop_process

pytestmark = pytest.mark.integration
FEEDS = [("eurusd", "EURUSD"), ("goog", "GOOG"), ("sp500", "SP500"), ("nasdaq", "NASDAQ"),
         ("eurusd", "EURUSD.B"), ("sp500", "SP500.B")]
TICKS_PER_SYMBOL = 1200


def feed_all(bootstrap: str, speed: float = 0.0) -> None:
    """Feed every symbol, interleaved in parallel threads (per-symbol order is kept)."""
    per_symbol = speed / len(FEEDS)
    threads = [threading.Thread(target=feed_ticks, args=(bootstrap, src, sym, TICKS_PER_SYMBOL, per_symbol))
               for src, sym in FEEDS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.fixture
def fresh_broker(tmp_path):
    listen = f"127.0.0.1:{free_port()}"
    proc = start_broker(listen, log_path=tmp_path / "broker.log")
    yield listen
    stop_process(proc)


@pytest.fixture(scope="module")
def reference_ids(tmp_path_factory) -> set[str]:
    tmp = tmp_path_factory.mktemp("reference")
    listen = f"127.0.0.1:{free_port()}"
    broker = start_broker(listen, log_path=tmp / "broker.log")
    worker, _ = start_worker(listen, tmp / "w")
    try:
        feed_all(listen)
        ids = signal_ids_when_quiet(listen)
    finally:
        stop_process(worker, 15)
        stop_process(broker)
    assert len(ids) >= 10, "the reference run should archive signals"
    return set(ids)


def test_kill_dash_nine_three_times_loses_and_invents_nothing(fresh_broker, tmp_path, reference_ids):
    rng = random.Random(20261122)
    feeder = threading.Thread(target=feed_all, args=(fresh_broker, 300.0))
    worker, log = start_worker(fresh_broker, tmp_path / "w")
    feeder.start()
    kills = 0
    try:
        for _ in range(3):
            time.sleep(rng.uniform(2.0, 6.0))
            worker.kill()  # SIGKILL: no shutdown hooks, no final commit
            worker.wait()
            kills += 1
            worker, log = start_worker(fresh_broker, tmp_path / "w")
        feeder.join()
        ids = signal_ids_when_quiet(fresh_broker)
    finally:
        stop_process(worker, 15)
    assert kills == 3
    assert set(ids) == reference_ids, \
        f"missing {sorted(reference_ids - set(ids))[:5]}, extra {sorted(set(ids) - reference_ids)[:5]}"


def test_adding_and_removing_a_worker_mid_stream_loses_nothing(fresh_broker, tmp_path, reference_ids):
    feeder = threading.Thread(target=feed_all, args=(fresh_broker, 300.0))
    first, _ = start_worker(fresh_broker, tmp_path / "a", name="a")
    feeder.start()
    second = None
    try:
        time.sleep(3)
        second, second_log = start_worker(fresh_broker, tmp_path / "b", name="b")
        time.sleep(6)
        stop_process(second, 15)  # a clean leave: its partitions move back to the first worker
        feeder.join()
        ids = signal_ids_when_quiet(fresh_broker)
    finally:
        stop_process(first, 15)
        if second is not None:
            stop_process(second, 15)
    assert re.search(r"partitions assigned: .*\bticks\[\d", second_log.read_text()), \
        "the second worker never received a ticks partition, so nothing was handed over"
    assert set(ids) == reference_ids, \
        f"missing {sorted(reference_ids - set(ids))[:5]}, extra {sorted(set(ids) - reference_ids)[:5]}"
