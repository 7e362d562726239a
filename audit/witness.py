"""The witness: every signed head, kept outside the archive, where the archive's insider cannot write.

The witness is the ``archive.heads`` topic (one partition, key = tree size, value =
the head's published JSON, RFC 8785 bytes), declared with retention that never
deletes (``retention.ms=-1``, ``retention.bytes=-1``), or a file of the same values,
one per line (``tickscope heads export`` writes it from the topic). The archiver
publishes each head and waits for the broker's acknowledgement; a head it could not
publish stays in its backlog and is sent when the broker is back (and, after a
restart, the start check finds every stored head the witness lacks).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from tickscope.audit.heads import Head, head_from_json

log = logging.getLogger("tickscope.archiver")
NEVER_DELETE = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}
SEND_TIMEOUT_S = 10.0


class WitnessError(Exception):
    """A witness that cannot be read; the message says which and why."""


@dataclass
class WitnessRead:
    heads: list[Head] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)  # entries that are not heads, by position
    source: str = ""


def parse_lines(lines: list[bytes], source: str) -> WitnessRead:
    out = WitnessRead(source=source)
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.heads.append(head_from_json(line))
        except ValueError as exc:
            out.bad.append(f"{source} entry {i}: {exc}")
    return out


def read_file(path: Path) -> WitnessRead:
    """A witness file: JSON lines, each one head exactly as published on ``archive.heads``."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise WitnessError(f"cannot read witness file {path}: {exc.strerror}") from exc
    return parse_lines(data.splitlines(), str(path))


def write_file(path: Path, values: list[bytes]) -> None:
    """Write published head values as a witness file (one per line), replacing ``path`` atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(b"".join(v.rstrip(b"\n") + b"\n" for v in values))
    tmp.replace(path)


def read_topic_values(kafka_config: dict, topic: str, timeout_s: float = 30.0) -> list[bytes]:
    """Every value on ``topic`` from its beginning to its current end (no consumer group)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(**kafka_config, enable_auto_commit=False, group_id=None,
                                 auto_offset_reset="earliest", consumer_timeout_ms=1000)
    except (KafkaError, OSError) as exc:
        raise WitnessError(f"cannot reach Kafka to read the witness {topic}: {exc}") from exc
    try:
        ids = consumer.partitions_for_topic(topic)
        if not ids:
            return []
        parts = [TopicPartition(topic, p) for p in sorted(ids)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        values: list[tuple[int, int, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in parts):
            if time.monotonic() > deadline:
                raise WitnessError(f"reading the witness {topic} took longer than {timeout_s:.0f} s")
            for tp, batch in consumer.poll(timeout_ms=500).items():
                values.extend((tp.partition, m.offset, m.value or b"") for m in batch if m.offset < end[tp])
        return [v for _, _, v in sorted(values)]
    except KafkaError as exc:
        raise WitnessError(f"cannot read the witness {topic}: {exc}") from exc
    finally:
        consumer.close()


def read_topic(kafka_config: dict, topic: str, timeout_s: float = 30.0) -> WitnessRead:
    return parse_lines(read_topic_values(kafka_config, topic, timeout_s), f"kafka:{topic}")


class HeadPublisher:
    """Publishes heads on the witness topic, waiting for each acknowledgement; keeps what failed for later."""

    def __init__(self, kafka_config: dict, topic: str):
        self.kafka_config, self.topic = kafka_config, topic
        self.backlog: list[Head] = []
        self.published = 0
        self._producer = None

    def _producer_or_none(self):
        if self._producer is None:
            from kafka import KafkaProducer

            try:
                self._producer = KafkaProducer(**self.kafka_config, acks="all", linger_ms=0, retries=3,
                                               max_block_ms=int(SEND_TIMEOUT_S * 1000))
            except Exception as exc:  # noqa: BLE001 - the broker is away: heads wait in the backlog
                log.warning("archiver: cannot connect to publish heads on %s: %s", self.topic, exc)
                return None
        return self._producer

    def add(self, heads: list[Head]) -> None:
        sizes = {h.tree_size for h in self.backlog}
        self.backlog.extend(h for h in heads if h.tree_size not in sizes)
        self.backlog.sort(key=lambda h: h.tree_size)

    def flush(self) -> int:
        """Send the backlog oldest first, each acknowledged before the next; stop at the first failure."""
        sent = 0
        while self.backlog:
            producer = self._producer_or_none()
            if producer is None:
                break
            head = self.backlog[0]
            try:
                producer.send(self.topic, key=str(head.tree_size).encode(),
                              value=head.to_json_bytes()).get(timeout=SEND_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - kept in the backlog, retried later
                log.warning("archiver: head %d not yet on %s (%s); %d head(s) waiting", head.tree_size, self.topic,
                            exc, len(self.backlog))
                break
            self.backlog.pop(0)
            self.published += 1
            sent += 1
        return sent

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None


def ensure_heads_topic(admin_config: dict, topic: str) -> list[str]:
    """Create the witness topic with retention that never deletes; returns warnings (never raises)."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    warnings: list[str] = []
    try:
        admin = KafkaAdminClient(**admin_config, request_timeout_ms=5000)
    except (KafkaError, OSError) as exc:
        return [f"cannot reach Kafka to declare {topic}: {exc}"]
    try:
        if topic not in set(admin.list_topics()):
            try:
                admin.create_topics([NewTopic(topic, 1, 1, topic_configs=dict(NEVER_DELETE))])
            except TopicAlreadyExistsError:
                pass
            except KafkaError as exc:  # a broker that refuses the configs (some embedded brokers)
                warnings.append(f"{topic} created without retention configs ({exc}); set retention.ms=-1 and "
                                "retention.bytes=-1 on it")
                try:
                    admin.create_topics([NewTopic(topic, 1, 1)])
                except TopicAlreadyExistsError:
                    pass
        warnings.extend(_retention_warnings(admin, topic))
    except KafkaError as exc:
        warnings.append(f"cannot declare {topic}: {exc}")
    finally:
        admin.close()
    return warnings


def _retention_warnings(admin, topic: str) -> list[str]:
    from kafka.admin import ConfigResource, ConfigResourceType

    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        text = repr(described)
    except Exception:  # noqa: BLE001 - a broker without DescribeConfigs: nothing to say
        return []
    for name in ("retention.ms", "retention.bytes"):
        if name in text and f"'{name}', '-1'" not in text and f"'{name}', value='-1'" not in text:
            return [f"{topic}: {name} is not -1: the broker may delete witnessed heads; set retention.ms=-1 and "
                    "retention.bytes=-1 (kafka-configs.sh --alter --entity-type topics --entity-name "
                    f"{topic} --add-config retention.ms=-1,retention.bytes=-1)"]
    return []
