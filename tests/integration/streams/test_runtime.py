"""An agent that raises takes its worker down (exit code non-zero), never leaving a process half alive."""

from __future__ import annotations

import subprocess
import sys

import pytest
from kafka import KafkaProducer

from tickscope.transport.broker import free_port, start_broker, stop_process

pytestmark = pytest.mark.integration

APP = """
import sys
import faust
from tickscope.settings import Settings
from tickscope.streams.agents.runtime import faust_app, raw_topic

app = faust_app(Settings(kafka_bootstrap=sys.argv[1], data_dir=sys.argv[2]), "crash-test")

@app.agent(raw_topic(app, "ticks"), name="buggy")
async def buggy(stream):
    async for events in stream.noack_take(10, within=0.1):
        raise RuntimeError("a bug in the agent")

faust.Worker(app, loglevel="warning").execute_from_commandline()
"""


def test_an_agent_that_raises_takes_the_worker_down(tmp_path):
    listen = f"127.0.0.1:{free_port()}"
    broker = start_broker(listen, log_path=tmp_path / "broker.log")
    (tmp_path / "faust").mkdir()
    try:
        producer = KafkaProducer(bootstrap_servers=listen)
        producer.send("ticks", b"anything")
        producer.flush()
        producer.close()
        log = tmp_path / "worker.log"
        proc = subprocess.Popen([sys.executable, "-c", APP, listen, str(tmp_path), "worker"],
                                stdout=log.open("w"), stderr=subprocess.STDOUT)
        try:
            code = proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("the worker lived on after its agent crashed")
    finally:
        stop_process(broker)
    assert code != 0 and "a bug in the agent" in log.read_text()
