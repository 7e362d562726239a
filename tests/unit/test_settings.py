"""One frozen settings object from TICKSCOPE_* variables, secrets masked."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

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


