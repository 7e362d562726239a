"""Deterministic alerts: the same drifted data gives the same alert ids, run after run and across a kill -9.

Real broker (a fresh one per run), real worker processes (detect, explain, alert), real EURUSD with a trend
spliced in (``tickscope.marketdata.regimes.inject``). Each run's alerts are compared field by field (all but the
wall-clock ``raised_at``) with the others' and with the offline alert stage over the same explanations: keyed by
symbol, the explanations reach the detectors in one order, and the detector state survives the kill through the
alerts changelog. One symbol, so the '*' key of its partition sees exactly its sequence too. No duration is
asserted: runs wait for the topics to go quiet.
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.support.processes import start_worker
from tickscope import models
from tickscope.detectors.reference import reference_for
from tickscope.marketdata.feed import publish
from tickscope.marketdata.regimes import inject
from tickscope.marketdata.sources import load_source
from tickscope.settings import Settings
from tickscope.streams.agents.gaps import group_offsets
from tickscope.streams.alert import alerts_over
from tickscope.streams.offline import explain_series
from tickscope.transport.broker import free_port, start_broker, stop_process

pytestmark = pytest.mark.integration
CUT = 2500
SYMBOL = "EURUSD"
KILL_AFTER = 45  # distinct explanations on the topic when the worker is killed (of ~100; alerts start near 35)


def _drifted_rows():
    return inject(load_source("eurusd"), CUT, "trend")


def _read_all(bootstrap: str, topics: tuple[str, ...], wait_ms: int = 1500) -> dict[str, list]:
    """Every message of ``topics`` so far, as (key, parsed value), from the beginning."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=wait_ms)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: dict[str, list] = {t: [] for t in topics}
        for r in consumer:
            out[r.topic].append((r.key, json.loads(r.value)))
        return out
    finally:
        consumer.close()


def _until_quiet(bootstrap: str, quiet_s: float = 10.0, timeout_s: float = 300.0) -> dict[str, list]:
    """Read ``explanations`` and ``alerts`` until neither has grown for ``quiet_s``."""
    last, changed, deadline = None, time.monotonic(), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen = _read_all(bootstrap, ("explanations", "alerts"))
        sizes = {t: len(v) for t, v in seen.items()}
        if sizes != last:
            last, changed = sizes, time.monotonic()
        elif sizes["explanations"] and time.monotonic() - changed > quiet_s:
            return seen
        time.sleep(1.0)
    raise AssertionError(f"the topics never went quiet: {last}")


def _alerts(seen: dict[str, list]) -> dict[str, dict]:
    """alert_id -> the alert without its wall clock (re-deliveries collapse onto their id)."""
    return {v["alert_id"]: {k: x for k, x in v.items() if k != "raised_at"} for _, v in seen["alerts"]}


def _distinct_explanations(bootstrap: str) -> int:
    return len({v["signal_id"] for _, v in _read_all(bootstrap, ("explanations",), 300)["explanations"]})


class Run:
    """A fresh broker and worker for one run of the drifted data."""

    def __init__(self, root):
        self.root = root
        self.bootstrap = f"127.0.0.1:{free_port()}"
        self.broker = start_broker(self.bootstrap, log_path=root / "broker.log")
        self.worker, self.log = start_worker(self.bootstrap, root / "worker")

    def feed(self, speed: float = 0.0) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        try:
            publish(producer, "ticks", SYMBOL, _drifted_rows(), speed)
        finally:
            producer.close()

    def stop(self) -> None:
        stop_process(self.worker, grace_s=15)
        stop_process(self.broker)


@pytest.fixture(scope="module")
def offline_alerts() -> dict[str, dict]:
    """The pure alert stage over the same explanations, made in this process by the worker's own stages."""
    model = models.load()
    records = explain_series(model, _drifted_rows(), SYMBOL)
    alerts = [a for _, a in alerts_over(records, reference_for(model), model_version=model.version)]
    return {a.alert_id: {k: x for k, x in json.loads(a.to_json()).items() if k != "raised_at"} for a in alerts}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> dict[str, list]:
    run = Run(tmp_path_factory.mktemp("alerts-first"))
    try:
        run.feed()
        seen = _until_quiet(run.bootstrap)
        settings = Settings(kafka_bootstrap=run.bootstrap)
        committed = [group_offsets(settings, settings.consumer_group, "explanations")(p) for p in range(4)]
    finally:
        run.stop()
    assert any(c is not None and c > 0 for c, _ in committed), f"the alert agent committed nothing: {committed}"
    assert all(start == 0 for _, start in committed)
    return seen


def test_explanations_are_keyed_by_symbol_in_one_partition_in_ts_order(first_run):
    keys = {k for k, _ in first_run["explanations"]}
    assert keys == {SYMBOL.encode()}
    ts = [v["ts"] for _, v in first_run["explanations"]]
    assert ts == sorted(ts)


def test_the_worker_raises_the_offline_stages_alerts(first_run, offline_alerts):
    alerts = _alerts(first_run)
    assert alerts, "the trend regime raised no alert"
    assert {a["symbol"] for a in alerts.values()} == {SYMBOL, "*"}
    assert alerts.keys() == offline_alerts.keys()
    for alert_id, alert in alerts.items():
        assert alert == offline_alerts[alert_id], {k: (v, offline_alerts[alert_id].get(k)) for k, v in alert.items()
                                                   if v != offline_alerts[alert_id].get(k)}


def test_a_second_run_raises_the_same_alerts(first_run, tmp_path):
    run = Run(tmp_path)
    try:
        run.feed()
        seen = _until_quiet(run.bootstrap)
    finally:
        run.stop()
    assert _alerts(seen) == _alerts(first_run)


def test_a_kill_dash_nine_partway_then_a_restart_raises_the_same_alerts(first_run, tmp_path):
    run = Run(tmp_path)
    feeder = threading.Thread(target=run.feed, args=(100.0,))  # ~50 s of ticks: the kill lands mid-stream
    try:
        feeder.start()
        deadline = time.monotonic() + 300
        while _distinct_explanations(run.bootstrap) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.2)
        run.worker.kill()  # SIGKILL: no shutdown hooks, no final commit
        run.worker.wait()
        before_kill = _read_all(run.bootstrap, ("explanations", "alerts"))
        restarted_at = run.log.stat().st_size
        run.worker, run.log = start_worker(run.bootstrap, tmp_path / "worker")
        feeder.join()
        seen = _until_quiet(run.bootstrap)
        after = run.log.read_text()[restarted_at:]
    finally:
        feeder.join()
        run.stop()
    assert len(before_kill["explanations"]) < len(seen["explanations"]), "the kill came after everything was done"
    loaded = [int(n) for n in re.findall(r"state of explanations\[\d+\] loaded: (\d+) keys", after)]
    assert loaded and max(loaded) > 0, "the restarted worker did not load the alert state from the changelog"
    assert _alerts(seen) == _alerts(first_run)
