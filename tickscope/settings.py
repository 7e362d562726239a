"""One frozen settings object for every tickscope process.

Every value can be set from the environment with the ``TICKSCOPE_`` prefix
(``TICKSCOPE_KAFKA_BOOTSTRAP=host:9092``). Secrets are ``SecretStr`` so they
are masked whenever settings are printed or logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SETTINGS_SCHEMA_VERSION = 1
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
ALL_AGENTS = frozenset({"detect", "explain", "alert"})


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
    worker_agents: str = Field("detect,explain,alert", description="agents this worker runs, comma separated")
    model_version: str | None = Field(None, description="sha256 of the model artifact; None = shipped default")
    model_modules: str = Field("", description="top-level packages, comma separated, whose torch module classes a "
                                               "model artifact may name (besides tickscope's and entry points)")
    signal_cooldown_ticks: int | None = Field(None, ge=0, description="ticks a symbol stays quiet after a signal; "
                                              "unset = the served model's spec (8 for models that do not say)")
    batch_size: int = Field(4096, ge=1, le=65_536,
                            description="max tick messages the detect stage takes from one fetch (one batch)")
    checkpoint_interval_s: float = Field(0.5, gt=0, description="detect: seconds between saving the window state "
                                         "and committing offsets (outputs are sent per batch, whatever this is)")
    max_symbols: int = Field(100_000, ge=1, le=2_000_000,
                             description="symbols whose windows a detect process keeps; the least recently seen "
                                         "beyond it are evicted")
    max_array_bytes: int = Field(262_144, ge=64, description="max bytes of a message holding several ticks")
    explain_batch_size: int = Field(16, ge=1,
                                    description="max signals explained before their records are sent together")
    explain_batch_within_s: float = Field(0.002, gt=0, description="max wait for more signals to batch, seconds")
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
    dashboard_max_symbols: int = Field(1_000, ge=1,
                                       description="symbols with price points kept; least recently seen evicted")
    dashboard_browser_points: int = Field(20_000, ge=100,
                                          description="price points of the shown symbol kept in the browser")
    dashboard_poll: bool = Field(False, description="poll every 250 ms instead of pushing over a WebSocket")

    archive_url: SecretStr | None = Field(None, description="PostgreSQL URL of the archive; default SQLite")
    archive_path: Path | None = Field(None, description="SQLite archive file; default $DATA_DIR/archive.sqlite")
    archive_signing_key: SecretStr | None = Field(None, description="Ed25519 seed (hex) or PEM for signed heads")
    archive_signing_key_file: Path | None = Field(
        None, description="PEM file of the signing key (e.g. a mounted secret); default $DATA_DIR/keys/")
    archive_public_key: str | None = Field(
        None, description="the public key tickscope verify trusts: 64 hex digits, a PEM, or a file holding either")
    archive_previous_public_keys: str = Field(
        "", description="comma-separated hex public keys of earlier signing keys the archiver accepts (rotation)")
    topic_archive_heads: str = "archive.heads"
    archive_batch: int = Field(500, ge=1, description="max records per archive transaction")
    archive_gap_policy: Literal["record", "stop"] = Field(
        "record", description="offsets deleted before they were archived: record a gap and go on, or stop")
    archive_max_witness_backlog: int = Field(100, ge=1, description="unpublished heads before the archiver pauses")
    archiver_metrics_port: int = Field(9110, ge=0, description="Prometheus /metrics port of the archiver; 0 = off")

    # Explanation-drift and stability alerts (tickscope.detectors, docs/alerts.md). Units: signals, bits, sigmas.
    alert_enabled: bool = Field(True, description="run the alert agent on the explanations topic")
    alert_window_signals: int = Field(12, ge=2, description="sliding window of recent signals per symbol / '*'")
    alert_js_feature: float = Field(0.15, gt=0, le=1,
                                    description="Jensen-Shannon (bits) of mean feature shares vs reference")
    alert_js_segment: float = Field(0.15, gt=0, le=1,
                                    description="Jensen-Shannon (bits) of mean segment shares vs reference")
    alert_rearm_fraction: float = Field(0.5, gt=0, le=1,
                                        description="re-arm when the value falls below this x threshold")
    alert_cooldown_signals: int = Field(32, ge=0, description="signals after an alert before the same detector re-arms")
    alert_rank_margin: float = Field(0.54, ge=0, le=1,
                                     description="share a new top feature must lead the reference top by")
    alert_cusum_k: float = Field(0.5, ge=0, description="CUSUM allowance, sigmas (half the shift detected)")
    alert_cusum_h: float = Field(6.8, gt=0, description="CUSUM decision interval of deletion faithfulness, sigmas")
    alert_cusum_h_attention: float = Field(36.0, gt=0,
                                           description="CUSUM decision interval of attention-SHAP agreement, sigmas")
    alert_stability_factor: float = Field(3.0, gt=0,
                                          description="alert when quality.stability > factor x reference max")
    alert_lipschitz_factor: float = Field(3.0, gt=0,
                                          description="alert when neighbour Lipschitz ratio > factor x reference max")
    alert_lipschitz_history: int = Field(64, ge=1, description="recent signals per symbol searched for near neighbours")
    alert_dedup_capacity: int = Field(100_000, ge=1, description="signal_ids remembered for de-duplication")
    alert_max_symbols: int = Field(2_000, ge=1, le=1_000_000,
                                   description="symbols whose detectors an alert process keeps; the least recently "
                                               "seen beyond it are evicted (their changelog state tombstoned)")
    alert_gauge_symbols: int = Field(50, ge=0, description="symbols exported with a symbol label on the drift "
                                                           "gauges (first come, until evicted), besides '*'")

    def archive_key_path(self) -> Path:
        """The signing key's file: the configured one, else ``$DATA_DIR/keys/archive-ed25519.pem``."""
        return self.archive_signing_key_file or (self.data_dir / "keys" / "archive-ed25519.pem")

    @property
    def kafka_configured(self) -> bool:
        """True when a bootstrap server was set explicitly (not just the built-in default)."""
        return "kafka_bootstrap" in self.model_fields_set

    def archive_target(self) -> str | Path:
        """Where the durable archive lives: the PostgreSQL URL if set, else a SQLite file."""
        if self.archive_url is not None and self.archive_url.get_secret_value():
            return self.archive_url.get_secret_value()
        return self.archive_path or (self.data_dir / "archive.sqlite")

    @property
    def agent_set(self) -> frozenset[str]:
        agents = frozenset(a.strip() for a in self.worker_agents.split(",") if a.strip())
        unknown = agents - ALL_AGENTS
        if unknown or not agents:
            raise ValueError(f"TICKSCOPE_WORKER_AGENTS: unknown {sorted(unknown)}; choose from {sorted(ALL_AGENTS)}")
        return agents

    @property
    def consumer_group(self) -> str:
        """The Faust app id: one group per agent set, so stages can run in separate processes."""
        if self.agent_set == ALL_AGENTS:
            return self.app_id
        return f"{self.app_id}-" + "-".join(sorted(self.agent_set))

    @property
    def state_changelog_topic(self) -> str:
        """Window-state changelog (key = symbol, partition = the ticks partition)."""
        return f"{self.app_id}-windows-changelog"

    @property
    def alerts_changelog_topic(self) -> str:
        """Alert-detector state changelog (key = symbol or '*#<partition>', partition = the explanations one)."""
        return f"{self.app_id}-alerts-changelog"

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


def get_settings() -> Settings:
    """The settings as the environment gives them now (cheap: read when a command or process starts)."""
    return Settings()
