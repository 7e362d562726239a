"""Real broker, real worker: a stationary EURUSD stretch raises no alert; a trend regime raises one, soon after.

"Soon" is counted in signals, not seconds (how many seconds is for ``tickscope bench``: a busy machine must not
fail a test).

Runs on its own broker and worker: the session ones carry other tests' EURUSD signals, which would mix
into the per-symbol windows of the alert agent.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.support.processes import start_worker
from tickscope.marketdata.feed import publish
from tickscope.marketdata.regimes import inject
from tickscope.marketdata.sources import load_source
from tickscope.transport.broker import free_port, start_broker, stop_process

pytestmark = pytest.mark.integration
DRIFT_KINDS = {"segment_drift", "attribution_drift", "rank_change"}
CUT = 2500
MAX_DELAY_SIGNALS = 2 * 12  # two detector windows of drifted signals (TICKSCOPE_ALERT_WINDOW_SIGNALS = 12)


class Arrivals(threading.Thread):
    """Reads ``explanations`` and ``alerts`` from the beginning; records (monotonic arrival, topic, value)."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        self.bootstrap, self.seen, self.stop = bootstrap, [], threading.Event()

    def run(self):
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
        assigned = False
        while not self.stop.is_set():
            if not assigned:
                parts = {t: consumer.partitions_for_topic(t) for t in ("explanations", "alerts")}
                if all(parts.values()):
                    tps = [TopicPartition(t, p) for t, ps in parts.items() for p in ps]
                    consumer.assign(tps)
                    consumer.seek_to_beginning(*tps)
                    assigned = True
                else:
                    time.sleep(0.2)
                    continue
            for tp, batch in consumer.poll(timeout_ms=100).items():
                now = time.monotonic()
                self.seen += [(now, tp.topic, json.loads(r.value)) for r in batch]
        consumer.close()

    def of(self, topic: str) -> list:
        return [(t, v) for t, top, v in list(self.seen) if top == topic]


def _wait_quiet(arrivals: Arrivals, quiet_s: float, timeout_s: float) -> None:
    deadline, last_n, last_change = time.monotonic() + timeout_s, -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(arrivals.seen)
        if n != last_n:
            last_n, last_change = n, time.monotonic()
        elif n and time.monotonic() - last_change > quiet_s:
            return
        time.sleep(0.2)


@pytest.fixture(scope="module")
def own_worker(tmp_path_factory):
    root = tmp_path_factory.mktemp("alerts")
    listen = f"127.0.0.1:{free_port()}"
    broker = start_broker(listen, log_path=root / "broker.log")
    proc = None
    try:
        proc, log = start_worker(listen, root / "worker")
        yield listen, log
    finally:
        if proc is not None:
            stop_process(proc, grace_s=15)
        stop_process(broker)


def test_no_alert_on_a_stationary_stretch_then_one_soon_after_a_regime_change(own_worker):
    bootstrap, log = own_worker
    rows = inject(load_source("eurusd"), CUT, "trend")
    arrivals = Arrivals(bootstrap)
    arrivals.start()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        publish(producer, "ticks", "EURUSD", rows[:CUT], 0.0, None)
        _wait_quiet(arrivals, quiet_s=6.0, timeout_s=120)
        assert arrivals.of("explanations"), f"no explanations; worker log:\n{log.read_text()[-3000:]}"
        assert arrivals.of("alerts") == [], "an alert on the stationary stretch"
        publish(producer, "ticks", "EURUSD", rows[CUT:], 0.0, None)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not arrivals.of("alerts"):
            time.sleep(0.2)
    finally:
        producer.close()
        arrivals.stop.set()
    drifted = [(t, v) for t, v in arrivals.of("explanations") if v["ts"] >= rows[CUT].ts]
    alerts = arrivals.of("alerts")
    assert drifted and alerts, f"no alert after the change; worker log:\n{log.read_text()[-3000:]}"
    first_drifted, first_alert = min(t for t, _ in drifted), min(t for t, _ in alerts)
    assert first_alert >= first_drifted, "the first alert came before any drifted explanation"
    tripped = next((v for _, v in drifted if v["signal_id"] == alerts[0][1]["evidence"][-1]), None)
    assert tripped is not None, "the first alert was tripped by a signal from before the change"
    delay = sum(1 for _, v in drifted if v["ts"] <= tripped["ts"])
    assert delay <= MAX_DELAY_SIGNALS, f"the first alert came {delay} drifted signals after the change"
    # which detector crosses first is pinned offline (tests/unit/streams/test_alert.py) and the worker's alerts
    # equal the offline stage's (test_alert_determinism.py); here: a drift detector, after the change
    for _, a in alerts:
        assert a["kind"] in DRIFT_KINDS and a["symbol"] in ("EURUSD", "*")
        assert a["started_at"] >= rows[CUT - 400].ts and a["value"] > a["threshold"]
        assert any(v["signal_id"] in a["evidence"] and v["ts"] >= rows[CUT].ts for _, v in drifted)
