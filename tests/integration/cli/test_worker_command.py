"""Stages in separate processes: ``detect`` in one worker, explanation scaled out over several others."""

from __future__ import annotations

import json
import re
import threading

import pytest

from tests.support.processes import start_worker
from tests.support.topics import feed_ticks, read_topic
from tickscope.transport.broker import free_port, start_broker, stop_process

pytestmark = pytest.mark.integration


def test_detect_and_explain_in_separate_processes(tmp_path):
    listen = f"127.0.0.1:{free_port()}"
    broker = start_broker(listen, log_path=tmp_path / "broker.log")
    workers = []
    try:
        for name, agents in (("detect", "detect"), ("explain", "explain,alert")):
            proc, log = start_worker(listen, tmp_path / name, name=name, TICKSCOPE_WORKER_AGENTS=agents)
            workers.append((proc, log))
        feed_ticks(listen, "sp500", "SP500")  # all 5,031 bars: a dozen or so signals
        records = read_topic(listen, "explanations", until=lambda r: len(r) >= 3, timeout_s=120)
    finally:
        for proc, _ in workers:
            stop_process(proc, 15)
        stop_process(broker)
    values = [json.loads(r.value) for r in records]
    assert len(values) >= 3, workers[1][1].read_text()[-2000:]
    assert all(v["symbol"] == "SP500" and v["additivity_error"] <= 1e-5 * max(1, abs(v["score"])) for v in values)
    assert "agents detect, model" in workers[0][1].read_text()
    assert "agents alert,explain, model" in workers[1][1].read_text()


def test_explanation_scales_out_over_processes_that_share_the_signals_partitions(tmp_path):
    """The ``tickscope up`` layout with two explainers: each is handed its own share of ``signals``."""
    listen = f"127.0.0.1:{free_port()}"
    broker = start_broker(listen, log_path=tmp_path / "broker.log")
    workers = []
    feeds = [("sp500", "SP500.X"), ("nasdaq", "NASDAQ.X"), ("goog", "GOOG.X"), ("eurusd", "EURUSD.X")]
    try:
        workers.append(start_worker(listen, tmp_path / "detect", name="detect", args=("--agents", "detect")))
        for i in (1, 2):
            workers.append(start_worker(listen, tmp_path / f"explain{i}", name=f"explain{i}",
                                        args=("--agents", "alert,explain")))
        threads = [threading.Thread(target=feed_ticks, args=(listen, src, sym, 1500)) for src, sym in feeds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        records = read_topic(listen, "explanations", until=lambda r: len({json.loads(x.value)["symbol"]
                                                                           for x in r}) >= 3, timeout_s=180)
    finally:
        for proc, _ in workers:
            stop_process(proc, 15)
        stop_process(broker)
    assert len({json.loads(r.value)["symbol"] for r in records}) >= 3
    shares = []
    for _, log in workers[1:]:
        found = re.findall(r"partitions assigned: .*?\bsignals\[([\d, ]*)\]", log.read_text())
        assert found, f"{log.name} was never handed a signals partition"
        shares.append({int(p) for p in found[-1].split(",") if p.strip()})
    assert shares[0] and shares[1] and not shares[0] & shares[1], shares
