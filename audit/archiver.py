"""The archiver: ``explanations`` -> the durable, tamper-evident archive.

Offsets live in the archive itself, written in the same transaction as the
records they cover and the signed head over them. On start the archiver
assigns itself every partition of the topic and seeks each to its stored
next offset (the beginning if none), so a restart or crash at any point loses
nothing and doubles nothing: a batch is either committed with its offsets or
re-read. No consumer group is used (one archiver per archive; two archivers
writing one archive would still not double a record, since ``signal_id`` is
unique and each append runs under an exclusive lock).

After each commit the new signed head is also published, best effort, on the
``archive.heads`` topic (key = tree size, value = the head as JSON), so a copy
of every head exists outside the database for anyone to check the archive
against later (``tickscope verify --head``).
"""

from __future__ import annotations

import json
import logging
import signal
import time
from dataclasses import dataclass

from tickscope.audit.archive_store import Incoming, Store

log = logging.getLogger("tickscope.archiver")


@dataclass
class Counters:
    appended: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    batches: int = 0


class Archiver:
    def __init__(self, store: Store, signer, kafka_config: dict, topic: str, heads_topic: str | None,
                 max_batch: int = 500, poll_ms: int = 500):
        self.store, self.signer, self.topic, self.heads_topic = store, signer, topic, heads_topic
        self.kafka_config, self.max_batch, self.poll_ms = kafka_config, max_batch, poll_ms
        self.counters = Counters()
        self._stop = False
        self.consumer = None
        self.producer = None

    def stop(self, *_args) -> None:
        self._stop = True

    def _assign(self) -> set:
        from kafka import TopicPartition

        ids = self.consumer.partitions_for_topic(self.topic) or set()
        parts = {TopicPartition(self.topic, p) for p in ids}
        if parts and parts != set(self.consumer.assignment()):
            self.consumer.assign(sorted(parts, key=lambda tp: tp.partition))
            stored = self.store.offsets()
            for tp in parts:
                nxt = stored.get((tp.topic, tp.partition))
                if nxt is None:
                    self.consumer.seek_to_beginning(tp)
                else:
                    self.consumer.seek(tp, nxt)
            log.info("archiver: reading %s partitions %s from stored offsets %s", self.topic,
                     sorted(tp.partition for tp in parts),
                     {tp.partition: stored.get((tp.topic, tp.partition), 0) for tp in parts})
        return parts

    def run(self, ready_message: str | None = None, idle_exit_s: float | None = None) -> Counters:
        from kafka import KafkaConsumer, KafkaProducer

        from tickscope.contracts.times import now_ms

        self.consumer = KafkaConsumer(**self.kafka_config, enable_auto_commit=False, group_id=None,
                                      auto_offset_reset="earliest", fetch_max_wait_ms=200,
                                      max_poll_records=self.max_batch)
        if self.heads_topic:
            try:
                self.producer = KafkaProducer(**self.kafka_config, acks="all", linger_ms=5)
            except Exception as exc:  # noqa: BLE001 - heads stay in the archive either way
                log.warning("archiver: cannot publish heads to %s: %s", self.heads_topic, exc)
        parts: set = set()
        last_refresh, last_data = 0.0, time.monotonic()
        if ready_message:
            print(ready_message, flush=True)
        try:
            while not self._stop:
                if time.monotonic() - last_refresh > (5.0 if parts else 0.5):
                    parts = self._assign()
                    last_refresh = time.monotonic()
                if not parts:
                    time.sleep(0.2)
                    continue
                polled = self.consumer.poll(timeout_ms=self.poll_ms, max_records=self.max_batch)
                batch = [m for msgs in polled.values() for m in msgs]
                if not batch:
                    if idle_exit_s is not None and time.monotonic() - last_data > idle_exit_s:
                        break
                    continue
                last_data = time.monotonic()
                self._commit(batch, now_ms())
        finally:
            self.consumer.close()
            if self.producer is not None:
                self.producer.flush(timeout=5)
                self.producer.close(timeout=5)
        return self.counters

    def _commit(self, batch: list, now: int) -> None:
        items = [Incoming(m.value, m.key, f"{m.topic}/{m.partition}@{m.offset}") for m in batch]
        offsets: dict = {}
        for m in batch:
            offsets[(m.topic, m.partition)] = max(offsets.get((m.topic, m.partition), 0), m.offset + 1)
        result = self.store.append_batch(items, offsets, self.signer, now)
        c = self.counters
        c.appended += result.appended
        c.duplicates += result.duplicates
        c.conflicts += result.conflicts
        c.rejected += result.rejected
        c.batches += 1
        for note in result.notes:
            log.warning("archiver: %s", note)
        if result.head is not None:
            log.info("archiver: +%d records (%d duplicates ignored), head size %d root %s", result.appended,
                     result.duplicates, result.head.tree_size, result.head.root.hex()[:16])
            if self.producer is not None:
                try:
                    self.producer.send(self.heads_topic, key=str(result.head.tree_size).encode(),
                                       value=json.dumps(result.head.to_json_dict()).encode())
                except Exception as exc:  # noqa: BLE001
                    log.warning("archiver: head %d not published: %s", result.head.tree_size, exc)
        elif result.duplicates:
            log.info("archiver: %d duplicate(s) ignored", result.duplicates)


def install_signal_handlers(archiver: Archiver) -> None:
    signal.signal(signal.SIGTERM, archiver.stop)
    signal.signal(signal.SIGINT, archiver.stop)
