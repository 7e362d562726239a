import faust
import pytest
from pydantic import ValidationError

from tickscope.kafka import broker_credentials
from tickscope.settings import Settings


def test_env_prefix_and_defaults(monkeypatch):
    monkeypatch.setenv("TICKSCOPE_KAFKA_BOOTSTRAP", "k1:9092, k2:9092")
    monkeypatch.setenv("TICKSCOPE_TOPIC_TICKS", "md.ticks")
    s = Settings()
    assert s.bootstrap_list == ["k1:9092", "k2:9092"]
    assert s.topic_ticks == "md.ticks" and s.topic_explanations == "explanations"
    assert s.schema_version == 1


def test_settings_are_frozen():
    s = Settings()
    with pytest.raises(ValidationError):
        s.topic_ticks = "other"


def test_secrets_are_masked_when_printed(monkeypatch):
    monkeypatch.setenv("TICKSCOPE_KAFKA_SASL_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("TICKSCOPE_DASHBOARD_TOKEN", "tok-secret")
    s = Settings()
    for text in (repr(s), str(s), s.model_dump_json()):
        assert "hunter2-secret" not in text and "tok-secret" not in text


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
