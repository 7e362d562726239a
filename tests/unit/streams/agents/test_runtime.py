"""The agents' Faust app: its credentials follow the Kafka security settings."""

from __future__ import annotations

import faust

from tickscope.settings import Settings
from tickscope.streams.agents.runtime import broker_credentials


def test_sasl_settings_reach_both_kafka_clients(monkeypatch):
    monkeypatch.setenv("TICKSCOPE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("TICKSCOPE_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("TICKSCOPE_KAFKA_SASL_USERNAME", "svc-tickscope")
    monkeypatch.setenv("TICKSCOPE_KAFKA_SASL_PASSWORD", "pw")
    s = Settings()
    cfg = s.kafka_python_config()
    assert cfg["security_protocol"] == "SASL_SSL" and cfg["sasl_mechanism"] == "SCRAM-SHA-512"
    assert cfg["sasl_plain_username"] == "svc-tickscope" and cfg["sasl_plain_password"] == "pw"
    creds = broker_credentials(s)
    assert isinstance(creds, faust.SASLCredentials)
    assert creds.username == "svc-tickscope" and creds.ssl_context is not None


def test_plaintext_has_no_credentials():
    assert broker_credentials(Settings()) is None


def test_a_failed_batch_ends_the_process_and_good_batches_do_not(monkeypatch, caplog):
    import asyncio
    import logging

    from tickscope.streams.agents import runtime

    exits, handled = [], []
    monkeypatch.setattr(runtime, "_exit", exits.append)

    async def batches(n_good: int, fail: bool):
        for i in range(n_good):
            yield [i]
        if fail:
            yield ["bad"]

    async def handle(batch):
        if batch == ["bad"]:
            raise ConnectionError("broker unreachable at step 2")
        handled.append(batch)

    log = logging.getLogger("tickscope.test")
    asyncio.run(runtime.each_batch_or_exit(batches(3, False), handle, log))
    assert exits == [] and handled == [[0], [1], [2]]
    with caplog.at_level(logging.CRITICAL, logger="tickscope.test"):
        asyncio.run(runtime.each_batch_or_exit(batches(1, True), handle, log))
    assert exits == [runtime.EXIT_BATCH_FAILED] and "a batch failed" in caplog.text
