"""Agent ``detect``: ``ticks`` read in whole fetch batches -> ``signals`` and ``ticks.dlq``, window state saved.

Faust's per-event path caps near 5,000 events/s on a small machine, while its
own Kafka library (aiokafka) reads hundreds of thousands of messages a second,
so ``ticks`` is read by a batch consumer hosted inside the Faust app: a
``mode.Service`` registered with ``app.service``, started and stopped with the
worker, owning an aiokafka consumer in its own group (``<group>-ticks``). The
stage is ``tickscope.streams.detect.SignalDetector``; this service only moves
records.

Delivery order (``tickscope.streams.checkpoint``): each batch's dead letters
and signals are sent and acknowledged before the next batch is read; every
``checkpoint_interval_s`` the state of every symbol changed since the last
checkpoint (and a tombstone for every evicted symbol) is written and
acknowledged, and only then are the offsets committed. A revocation or a
graceful stop checkpoints first; a batch that raised leaves the process
without saving anything (its state may include ticks whose signals were not
acknowledged), so it exits and the next owner resumes from the last
checkpoint. The rebalance callbacks and the batch loop share one lock.
"""

from __future__ import annotations

import asyncio
import logging
import time

import faust
import mode
from aiokafka import AIOKafkaConsumer
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, ConsumerStoppedError, IllegalStateError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from tickscope import metrics
from tickscope.contracts.times import now_ms
from tickscope.settings import Settings
from tickscope.streams.agents.runtime import FaustProducer, aiokafka_options
from tickscope.streams.checkpoint import Checkpoint, Outgoing
from tickscope.streams.detect import STAGE_ID, Batch, BatchOutcome, SignalDetector
from tickscope.streams.state import encode_window_state, latest_states
from tickscope.transport.partitions import read_partition

log = logging.getLogger("tickscope.worker")
MAX_PENDING_ARRIVALS = 10_000  # signals whose end-to-end latency is still to be observed


class Rebalance(ConsumerRebalanceListener):
    """aiokafka awaits these: revoked while the group still accepts commits, assigned with heartbeats paused
    (so it only notes the new partitions; their state is loaded before their first batch)."""

    def __init__(self, service: "TickBatchService"):
        self.service = service

    async def on_partitions_revoked(self, revoked) -> None:
        await self.service.hand_over(set(revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        await self.service.take_over(set(assigned))


class TickBatchService(mode.Service):
    """Reads ``ticks`` in fetch batches inside the Faust worker's event loop."""

    def __init__(self, app: faust.App, settings: Settings, model, arrivals: dict, **kwargs):
        self.app, self.settings, self.arrivals = app, settings, arrivals
        self.detector = SignalDetector(model, settings.signal_cooldown_ticks, settings.max_message_bytes,
                                       settings.max_array_bytes, settings.max_symbols)
        self.producer = FaustProducer(app)
        self.lock = asyncio.Lock()
        self.owned: set[TopicPartition] = set()
        self.to_load: set[TopicPartition] = set()
        self.next_offset: dict[TopicPartition, int] = {}  # the offset each owned partition must continue at
        self.uncommitted: dict[TopicPartition, int] = {}
        self.changed: set[str] = set()
        self.last_checkpoint = time.monotonic()
        self.consumer: AIOKafkaConsumer | None = None
        self.poisoned = self.stopping = False
        super().__init__(**kwargs)

    # ---- lifecycle ------------------------------------------------------------------------------------------
    async def on_start(self) -> None:
        s = self.settings
        self.consumer = AIOKafkaConsumer(**aiokafka_options(s), group_id=f"{s.consumer_group}-ticks",
                                         enable_auto_commit=False, auto_offset_reset="earliest",
                                         fetch_max_wait_ms=s.fetch_max_wait_ms, max_partition_fetch_bytes=1 << 20)
        await self.consumer.start()
        self.consumer.subscribe([s.topic_ticks], listener=Rebalance(self))

    async def on_stop(self) -> None:
        async with self.lock:  # the batch in flight finishes first
            self.stopping = True
            if not self.poisoned and self.owned:
                await self.checkpoint()
        if self.consumer is not None:
            await self.consumer.stop()  # leaves the group; aiokafka does not call the revoke callback here

    @mode.Service.task
    async def _read(self) -> None:
        while not self.should_stop:
            try:
                fetched = await self.consumer.getmany(timeout_ms=200, max_records=self.settings.batch_size)
            except ConsumerStoppedError:
                return
            async with self.lock:
                if self.stopping:
                    return
                fetched = {tp: records for tp, records in fetched.items() if tp in self.owned and records}
                try:
                    if fetched:
                        await self.batch(fetched)
                    if self.uncommitted and self._checkpoint_due():
                        await self.checkpoint()
                except BaseException:
                    self.poisoned = True  # never save state that may include ticks whose signals were not acked
                    raise

    def _checkpoint_due(self) -> bool:
        return time.monotonic() - self.last_checkpoint >= self.settings.checkpoint_interval_s

    # ---- partitions -----------------------------------------------------------------------------------------
    async def hand_over(self, revoked: set) -> None:
        async with self.lock:
            if not self.poisoned and not self.stopping and self.owned:
                await self.checkpoint()  # still the owner: save and commit before the next owner starts
            self.owned -= revoked
        log.info("tickscope worker: partitions revoked: ticks%s", sorted(tp.partition for tp in revoked))

    async def take_over(self, assigned: set) -> None:
        async with self.lock:
            self.to_load |= {tp for tp in assigned if tp not in self.owned}
            self.owned = set(assigned)
        log.info("tickscope worker: partitions assigned: ticks%s", sorted(tp.partition for tp in assigned))

    async def _ensure_loaded(self, tp: TopicPartition, first_offset: int) -> None:
        """Load a partition's state from the changelog unless what is in memory continues exactly here."""
        if tp not in self.to_load and self.next_offset.get(tp) == first_offset:
            return
        self.to_load.discard(tp)
        await self._record_gap(tp)
        self.detector.windows.forget_partition(tp.partition)
        values = await asyncio.to_thread(read_partition, self.settings, self.settings.state_changelog_topic,
                                         tp.partition)
        states = latest_states(values)
        for symbol, (applied, state) in states.items():
            self.detector.windows.load(symbol, tp.partition, applied, state)
        log.info("tickscope worker: state of ticks[%d] loaded: %d symbols at offset %d", tp.partition, len(states),
                 first_offset)

    async def _record_gap(self, tp: TopicPartition) -> None:
        """Retention deleted messages this group never read: count them and say so, then go on."""
        committed = await self.consumer.committed(tp)
        start = (await self.consumer.beginning_offsets([tp]))[tp]
        if committed is not None and committed < start:
            metrics.INPUT_GAP.labels(STAGE_ID, tp.topic).inc(start - committed)
            log.error("tickscope worker: GAP in %s[%d]: offsets %d..%d were deleted before they were read",
                      tp.topic, tp.partition, committed, start - 1)

    # ---- one batch, and the checkpoint ------------------------------------------------------------------------
    async def batch(self, fetched: dict) -> None:
        for tp, records in fetched.items():
            await self._ensure_loaded(tp, records[0].offset)
        records = [(tp.partition, r) for tp, rs in fetched.items() for r in rs]
        batch = Batch([r.value for _, r in records], [r.key for _, r in records],
                      _int64([r.offset for _, r in records]), _int64([p for p, _ in records]),
                      self.settings.topic_ticks, time.monotonic())
        started = time.perf_counter()
        outcome = self.detector.process(batch, now_ms())
        metrics.SCORE_BATCH_SECONDS.observe(time.perf_counter() - started)
        await self._send(outcome, batch.arrived_at)
        self.changed |= outcome.changed
        for tp, rs in fetched.items():
            self.next_offset[tp] = self.uncommitted[tp] = rs[-1].offset + 1
            highwater = self.consumer.highwater(tp)
            if highwater is not None:
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - rs[-1].offset - 1))
        _count(outcome, len(records))
        metrics.LIVENESS.set(time.time())

    async def _send(self, outcome: BatchOutcome, arrived_at: float) -> None:
        """Step 1 of the checkpoint, per batch: this batch's outputs are on the broker before the next is read."""
        s = self.settings
        outputs = Checkpoint(self.producer)
        for letter in outcome.dead_letters:
            metrics.DLQ.labels(letter.stage, letter.reason).inc()
            await outputs.send(Outgoing(s.topic_dlq, letter.source_topic.encode(), letter.to_json()))
        for sig in outcome.signals:
            metrics.SIGNALS.labels(sig.direction).inc()
            self.arrivals[sig.signal_id] = arrived_at
            await outputs.send(Outgoing(s.topic_signals, sig.symbol.encode(), sig.to_json()))
        while len(self.arrivals) > MAX_PENDING_ARRIVALS:
            self.arrivals.pop(next(iter(self.arrivals)))
        await outputs.acknowledged()

    async def checkpoint(self) -> None:
        """Steps 2 and 3: the changed symbols' state (and evicted symbols' tombstones), then the offsets."""
        started = time.perf_counter()
        windows, topic = self.detector.windows, self.settings.state_changelog_topic
        state = []
        for symbol in self.changed & windows.index.keys():
            partition, applied, body = windows.state_of(symbol)
            value = encode_window_state(symbol, partition, applied, body)
            state.append(Outgoing(topic, symbol.encode(), value, partition))
        evicted = windows.take_evicted()
        for symbol, partition, applied in evicted:
            value = encode_window_state(symbol, partition, applied, None)
            state.append(Outgoing(topic, symbol.encode(), value, partition))
        metrics.SYMBOL_EVICTIONS.labels(STAGE_ID).inc(len(evicted))
        await Checkpoint(self.producer, self._commit).complete(state)
        self.changed.clear()
        self.last_checkpoint = time.monotonic()
        metrics.CHECKPOINT_SECONDS.observe(time.perf_counter() - started)

    async def _commit(self) -> None:
        offsets = {tp: OffsetAndMetadata(o, "") for tp, o in self.uncommitted.items() if tp in self.owned}
        self.uncommitted.clear()
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:  # outputs and state are safe: the batch is re-read
            log.warning("tickscope worker: commit refused (%s); the next owner re-reads from the last commit", exc)


def _int64(values: list[int]):
    import numpy as np

    return np.fromiter(values, np.int64, len(values))


def _count(outcome: BatchOutcome, messages: int) -> None:
    metrics.TICKS_IN.inc(messages)
    metrics.TICKS_ACCEPTED.inc(outcome.accepted)
    metrics.WINDOWS_SCORED.inc(outcome.scored)
    for reason, n in outcome.dropped.items():
        metrics.TICKS_DROPPED.labels(reason).inc(n)


def wire(app: faust.App, settings: Settings, model, arrivals: dict) -> None:
    """Host the ``ticks`` batch consumer in the app (started after Faust's own consumer, stopped before it)."""
    app.service(TickBatchService(app, settings, model, arrivals))
