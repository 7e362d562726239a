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
