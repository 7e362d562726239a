"""The archiver: ``explanations`` -> the durable, tamper-evident archive, every head witnessed outside it.

Offsets live in the archive itself, written in the same transaction as the
records they cover and the signed head over them. On start the archiver has
already checked the stored log (``tickscope.audit.startup``); it assigns itself
every partition of the topic and seeks each to its stored next offset. No
consumer group is used (one archiver per archive).

Each message goes through ``tickscope.audit.intake`` inside ``isolate``: a
message that is not an archive record is kept in ``rejected`` with its reason
and origin, the good records of the batch are archived, and nothing about the
bad one changes the log.

Nothing is skipped silently: a stored offset below the partition's log start
(retention deleted records the archiver never read), or offsets that jump inside
a batch, become a row in ``gaps`` (which verify reports), a metric and a log
line before the archiver goes on, or stop it (``TICKSCOPE_ARCHIVE_GAP_POLICY=stop``).

After each commit the new head is published on the witness topic and its
acknowledgement awaited; heads that could not be published wait in a backlog
(metric ``tickscope_archiver_witness_backlog``) and go out when the broker is
back. Past ``TICKSCOPE_ARCHIVE_MAX_WITNESS_BACKLOG`` heads the archiver stops
reading until the witness has caught up.
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass

from tickscope import metrics
from tickscope.audit.archive_store import ArchiveError, Gap, Incoming, Store
from tickscope.audit.witness import HeadPublisher

log = logging.getLogger("tickscope.archiver")


class GapError(ArchiveError):
    """Retention deleted records before they were archived, and the gap policy is ``stop``."""


@dataclass
class Counters:
    appended: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    batches: int = 0
    gap_records: int = 0


def plan_positions(topic: str, partitions: list[int], stored: dict, log_starts: dict[int, int],
                   log_ends: dict[int, int] | None = None) -> tuple[dict[int, int], list[Gap]]:
    """Where to read each partition from, and the gaps: stored offsets below the log start.

    A stored offset beyond the log's end means the topic was deleted and created again (the embedded broker
    after a restart): everything it now holds is read from its start (records already archived are duplicates,
    ignored by ``signal_id``), and the archiver logs it.
    """
    seeks, gaps = {}, []
    for p in partitions:
        nxt = stored.get((topic, p), 0)
        start = log_starts.get(p, 0)
        end = (log_ends or {}).get(p)
        if end is not None and nxt > end:
            log.warning("archiver: stored offset %d of %s/%d is beyond the log end %d: the topic was recreated; "
                        "reading it from its start %d", nxt, topic, p, end, start)
            nxt = start
        if nxt < start:
            gaps.append(Gap(topic, p, nxt, start, f"offsets {nxt}..{start - 1} of {topic}/{p} were deleted by the "
                                                  "broker's retention before the archiver read them"))
            nxt = start
        seeks[p] = nxt
    return seeks, gaps


def offset_jumps(expected: dict[tuple[str, int], int], batch: list) -> list[Gap]:
    """Offsets skipped inside a batch (a message's offset beyond the next expected one); updates ``expected``."""
    gaps = []
    for m in batch:
        want = expected.get((m.topic, m.partition))
        if want is not None and m.offset > want:
            gaps.append(Gap(m.topic, m.partition, want, m.offset, f"offsets {want}..{m.offset - 1} of "
                                                                  f"{m.topic}/{m.partition} never arrived"))
        expected[(m.topic, m.partition)] = m.offset + 1
    return gaps


class Archiver:
    def __init__(self, store: Store, signer, kafka_config: dict, topic: str, publisher: HeadPublisher | None,
                 max_batch: int = 500, poll_ms: int = 500, gap_policy: str = "record", max_backlog: int = 100):
        self.store, self.signer, self.topic, self.publisher = store, signer, topic, publisher
        self.kafka_config, self.max_batch, self.poll_ms = kafka_config, max_batch, poll_ms
        self.gap_policy, self.max_backlog = gap_policy, max_backlog
        self.counters = Counters()
        self.expected: dict[tuple[str, int], int] = {}
        self._stop = False
        self.consumer = None

    def stop(self, *_args) -> None:
        self._stop = True

    # ---- positions and gaps
    def _assign(self, force: bool = False) -> set:
        from kafka import TopicPartition

        ids = self.consumer.partitions_for_topic(self.topic) or set()
        parts = {TopicPartition(self.topic, p) for p in ids}
        if parts and (force or parts != set(self.consumer.assignment())):
            self.consumer.assign(sorted(parts, key=lambda tp: tp.partition))
            starts = {tp.partition: off for tp, off in self.consumer.beginning_offsets(list(parts)).items()}
            ends = {tp.partition: off for tp, off in self.consumer.end_offsets(list(parts)).items()}
            seeks, gaps = plan_positions(self.topic, sorted(starts), self.store.offsets(), starts, ends)
            for gap in gaps:
                self._gap(gap)
            for tp in parts:
                self.consumer.seek(tp, seeks[tp.partition])
                self.expected[(tp.topic, tp.partition)] = seeks[tp.partition]
            log.info("archiver: reading %s partitions %s from offsets %s", self.topic, sorted(seeks), seeks)
        return parts

    def _gap(self, gap: Gap) -> None:
        from tickscope.contracts.times import now_ms

        if self.gap_policy == "stop":
            raise GapError(f"{gap.detail}; stopping (TICKSCOPE_ARCHIVE_GAP_POLICY=stop). Those records are not in "
                           "the archive; set the policy to record to note the gap and go on")
        self.store.record_gap(gap, now_ms())
        self.counters.gap_records += gap.records
        metrics.ARCHIVER_GAP_RECORDS.inc(gap.records)
        log.error("archiver: GAP: %s (%d records); recorded in the archive's gaps table", gap.detail, gap.records)

    # ---- the loop
    def run(self, ready_message: str | None = None, idle_exit_s: float | None = None) -> Counters:
        from kafka import KafkaConsumer
        from kafka.errors import OffsetOutOfRangeError

        self.consumer = KafkaConsumer(**self.kafka_config, enable_auto_commit=False, group_id=None,
                                      auto_offset_reset="none", fetch_max_wait_ms=200,
                                      max_poll_records=self.max_batch)
        parts: set = set()
        last_refresh, last_data = 0.0, time.monotonic()
        metrics.ARCHIVER_UP.set(1)
        self._flush_witness()
        if ready_message:
            print(ready_message, flush=True)
        try:
            while not self._stop:
                if time.monotonic() - last_refresh > (5.0 if parts else 0.5):
                    parts = self._assign()
                    self._flush_witness()
                    self._update_lag(parts)
                    last_refresh = time.monotonic()
                if not parts or self._witness_too_far_behind():
                    time.sleep(0.2)
                    continue
                try:
                    polled = self.consumer.poll(timeout_ms=self.poll_ms, max_records=self.max_batch)
                except OffsetOutOfRangeError:
                    parts = self._assign(force=True)  # retention moved the log start under us: record the gap
                    continue
                batch = [m for msgs in polled.values() for m in msgs]
                metrics.ARCHIVER_LAST_PROGRESS.set(time.time())
                if not batch:
                    if idle_exit_s is not None and time.monotonic() - last_data > idle_exit_s:
                        break
                    continue
                last_data = time.monotonic()
                self._commit(batch)
        finally:
            metrics.ARCHIVER_UP.set(0)
            self.consumer.close()
            if self.publisher is not None:
                self._flush_witness()
                self.publisher.close()
        return self.counters

    def _witness_too_far_behind(self) -> bool:
        if self.publisher is None or len(self.publisher.backlog) <= self.max_backlog:
            return False
        self._flush_witness()
        return len(self.publisher.backlog) > self.max_backlog

    def _flush_witness(self) -> None:
        if self.publisher is None:
            return
        sent = self.publisher.flush()
        if sent:
            metrics.ARCHIVER_HEADS_PUBLISHED.inc(sent)
        metrics.ARCHIVER_WITNESS_BACKLOG.set(len(self.publisher.backlog))

    def _update_lag(self, parts: set) -> None:
        if not parts:
            return
        try:
            end = self.consumer.end_offsets(list(parts))
            metrics.ARCHIVER_LAG.set(sum(max(0, off - self.consumer.position(tp)) for tp, off in end.items()))
        except Exception as exc:  # noqa: BLE001 - a metric, never a reason to stop
            log.debug("archiver: lag not measured: %s", exc)

    def _commit(self, batch: list) -> None:
        from tickscope.contracts.times import now_ms

        for gap in offset_jumps(self.expected, batch):
            self._gap(gap)
        items = [Incoming(m.value, m.key, f"{m.topic}/{m.partition}@{m.offset}") for m in batch]
        offsets: dict = {}
        for m in batch:
            offsets[(m.topic, m.partition)] = max(offsets.get((m.topic, m.partition), 0), m.offset + 1)
        result = self.store.append_batch(items, offsets, self.signer, now_ms())
        self._count(result)
        if result.head is not None:
            log.info("archiver: +%d records (%d duplicates ignored), head size %d root %s", result.appended,
                     result.duplicates, result.head.tree_size, result.head.root.hex()[:16])
            if self.publisher is not None:
                self.publisher.add([result.head])
                self._flush_witness()
        elif result.duplicates:
            log.info("archiver: %d duplicate(s) ignored", result.duplicates)

    def _count(self, result) -> None:
        c = self.counters
        c.appended += result.appended
        c.duplicates += result.duplicates
        c.conflicts += result.conflicts
        c.rejected += result.rejected
        c.batches += 1
        metrics.ARCHIVER_RECORDS.inc(result.appended)
        metrics.ARCHIVER_DUPLICATES.inc(result.duplicates)
        metrics.ARCHIVER_CONFLICTS.inc(result.conflicts)
        for reason in result.rejected_reasons:
            metrics.ARCHIVER_REJECTED.labels(reason=reason).inc()
        for note in result.notes:
            log.warning("archiver: %s", note)


def install_signal_handlers(archiver: Archiver) -> None:
    signal.signal(signal.SIGTERM, archiver.stop)
    signal.signal(signal.SIGINT, archiver.stop)
