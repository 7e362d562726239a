"""Create the pipeline's topics up front, so partition counts are chosen, not defaulted."""

from __future__ import annotations

import time

from tickscope.settings import Settings


def topic_names(settings: Settings) -> list[str]:
    return [settings.topic_ticks, settings.topic_dlq, settings.topic_signals,
            settings.topic_explanations, settings.topic_alerts, settings.state_changelog_topic,
            settings.alerts_changelog_topic]


def topic_configs(settings: Settings, name: str) -> dict:
    """A state changelog only needs each key's latest value: compact it."""
    changelogs = (settings.state_changelog_topic, settings.alerts_changelog_topic)
    return {"cleanup.policy": "compact"} if name in changelogs else {}


def ensure_topics(settings: Settings, wait_s: float = 60.0) -> None:
    """Create missing topics; retry while the broker starts. A new topic gets the partition count of ``ticks``
    (or TICKSCOPE_TOPIC_PARTITIONS), a changelog that of the input topic it mirrors."""
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
        mirrors = _mirrored(settings)
        counts = {source: _partition_count(admin, source) if source in existing else None
                  for source in {settings.topic_ticks, *mirrors.values()}}
        default = counts[settings.topic_ticks] or settings.topic_partitions
        missing = [NewTopic(t, counts.get(mirrors.get(t)) or default, 1, topic_configs=topic_configs(settings, t))
                   for t in topic_names(settings) if t not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created them first
    finally:
        admin.close()


def _mirrored(settings: Settings) -> dict[str, str]:
    """changelog -> the input topic whose partitions it must mirror (state of input partition p is in its p)."""
    return {settings.state_changelog_topic: settings.topic_ticks,
            settings.alerts_changelog_topic: settings.topic_explanations}


def _partition_count(admin, topic: str) -> int | None:
    described = admin.describe_topics([topic])
    return len(described[0]["partitions"]) if described and described[0].get("partitions") else None
