"""Create the pipeline's topics up front, so partition counts are chosen, not defaulted."""

from __future__ import annotations

import time

from tickscope.settings import Settings


def topic_names(settings: Settings) -> list[str]:
    return [settings.topic_ticks, settings.topic_dlq, settings.topic_signals,
            settings.topic_explanations, settings.topic_alerts, settings.state_changelog_topic]


def topic_configs(settings: Settings, name: str) -> dict:
    """The window-state changelog only needs each symbol's latest value: compact it."""
    return {"cleanup.policy": "compact"} if name == settings.state_changelog_topic else {}


def ensure_topics(settings: Settings, wait_s: float = 60.0) -> None:
    """Create missing topics (key = symbol or signal_id); retry while the broker starts."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    deadline = time.monotonic() + wait_s
    while True:
        try:
            admin = KafkaAdminClient(**settings.kafka_python_config(), request_timeout_ms=5000)
            break
        except (KafkaError, OSError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc}") from exc
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        partitions = _partition_count(admin, settings.topic_ticks) if settings.topic_ticks in existing else None
        partitions = partitions or settings.topic_partitions  # the changelog must mirror the ticks partitions
        missing = [NewTopic(t, partitions, 1, topic_configs=topic_configs(settings, t))
                   for t in topic_names(settings) if t not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created them first
    finally:
        admin.close()


def _partition_count(admin, topic: str) -> int | None:
    described = admin.describe_topics([topic])
    return len(described[0]["partitions"]) if described and described[0].get("partitions") else None
