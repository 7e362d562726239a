"""One frozen settings object for every tickscope process.

Every value can be set from the environment with the ``TICKSCOPE_`` prefix
(``TICKSCOPE_KAFKA_BOOTSTRAP=host:9092``). Secrets are ``SecretStr`` so they
are masked whenever settings are printed or logged.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SETTINGS_SCHEMA_VERSION = 1
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


class Settings(BaseSettings):
    """Configuration shared by broker, worker, feed and dashboard."""

    model_config = SettingsConfigDict(env_prefix="TICKSCOPE_", frozen=True, extra="ignore")

    schema_version: int = SETTINGS_SCHEMA_VERSION
    kafka_bootstrap: str = Field(DEFAULT_BOOTSTRAP, description="Kafka bootstrap servers, comma separated")
    kafka_security_protocol: str = Field("PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    data_dir: Path = Path("./data")

    topic_ticks: str = "ticks"
    topic_dlq: str = "ticks.dlq"
    topic_signals: str = "signals"
    topic_explanations: str = "explanations"
    topic_alerts: str = "alerts"
    topic_partitions: int = Field(4, ge=1)

    app_id: str = "tickscope"
    model_version: str | None = Field(None, description="sha256 of the model artifact; None = shipped default")
    signal_cooldown_ticks: int = Field(8, ge=0, description="ticks a symbol stays quiet after a signal")
    batch_size: int = Field(256, ge=1, description="max ticks per micro-batch")
    batch_within_s: float = Field(0.05, gt=0, description="max wait to fill a micro-batch, seconds")
    max_message_bytes: int = Field(4096, ge=64)
    torch_threads: int = Field(1, ge=1)
    fetch_max_wait_ms: int = Field(50, ge=1, description="consumer long-poll cap, ms (latency per hop)")

    broker_session_timeout_s: float = 10.0
    broker_rebalance_timeout_s: float = 10.0
    broker_heartbeat_interval_s: float = 1.0

    metrics_port: int = Field(9108, ge=0, description="Prometheus /metrics port of the worker; 0 = off")
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8050
    dashboard_token: SecretStr | None = Field(None, description="required when the dashboard binds beyond loopback")
    dashboard_max_points: int = Field(100_000, ge=100, description="price points kept per symbol")

    @property
    def state_changelog_topic(self) -> str:
        """Window-state changelog (key = symbol, partition = the ticks partition)."""
        return f"{self.app_id}-windows-changelog"

    @property
    def bootstrap_list(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]

    def kafka_python_config(self) -> dict:
        """Connection options in kafka-python's spelling (secrets unmasked only here)."""
        cfg: dict = {"bootstrap_servers": self.bootstrap_list, "security_protocol": self.kafka_security_protocol}
        if self.kafka_sasl_mechanism:
            cfg["sasl_mechanism"] = self.kafka_sasl_mechanism
            cfg["sasl_plain_username"] = self.kafka_sasl_username
            if self.kafka_sasl_password is not None:
                cfg["sasl_plain_password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_ssl_cafile:
            cfg["ssl_cafile"] = self.kafka_ssl_cafile
        return cfg


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
