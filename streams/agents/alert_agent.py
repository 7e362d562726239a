"""Agent ``alert``: ``explanations`` -> ``alerts`` (key = alert_id), detector state in a changelog.

The stage is ``tickscope.streams.alert.AlertEngine``, built on the model
version's training reference (``tickscope.detectors.reference``); this agent
only moves records. Per micro-batch, through one ``Checkpoint``: the batch's
alerts and dead letters are sent and acknowledged, then the state of every
key the batch changed (and a tombstone for every evicted key) is written to
``{app_id}-alerts-changelog`` (key = the state key, partition = the
``explanations`` partition) and acknowledged, and only then are the batch's
offsets committed.

A partition's state is loaded lazily, before its first message: from the
changelog (``read_partition`` in a thread, ``latest_states``), after the gap
check (``gaps.GapWatch``). It is loaded again whenever the next offset seen
on the partition is not the one expected (a rewind after a crash or a
re-delivery, or a jump after another worker owned it). Messages at or below
a key's ``applied`` offset are skipped by the engine. A failure in a batch
(broker unreachable, a bug) ends the worker process so that it restarts from
its last commit (``runtime.each_batch_or_exit``): an agent restarted in place
would carry state that includes unacknowledged alerts.
"""

from __future__ import annotations

import asyncio
import logging
import time

import faust

from tickscope import metrics
from tickscope.contracts.dead_letters import Source
from tickscope.contracts.times import now_ms
from tickscope.detectors.protocol import AlertParams
from tickscope.detectors.reference import reference_for
from tickscope.settings import Settings
from tickscope.streams.agents.alert_gauges import GaugeExport
from tickscope.streams.agents.gaps import GapWatch, group_offsets
from tickscope.streams.agents.runtime import FaustProducer, batch_checkpoint, each_batch_or_exit, raw_topic
from tickscope.streams.alert import STAGE_ID, AlertEngine, Outcome
from tickscope.streams.checkpoint import Outgoing
from tickscope.streams.state import decode_state, encode_state, latest_states
from tickscope.transport.partitions import read_partition

log = logging.getLogger("tickscope.alerts")


class AlertWorker:
    """The engine, its partitions' load bookkeeping and the gauges of one alert agent."""

    def __init__(self, app: faust.App, settings: Settings, engine: AlertEngine):
        self.settings, self.engine = settings, engine
        self.producer = FaustProducer(app)
        self.gaps = GapWatch(STAGE_ID, settings.topic_explanations,
                             group_offsets(settings, settings.consumer_group, settings.topic_explanations))
        self.gauges = GaugeExport(settings.alert_gauge_symbols)
        self.owned: set[int] = set()
        self.to_load: set[int] = set()
        self.next_offset: dict[int, int] = {}  # the offset each partition must continue at to keep its state

    def assigned(self, partitions: set[int]) -> None:
        """The whole new assignment: partitions not owned before are loaded before their first message."""
        self.to_load = (self.to_load & partitions) | (partitions - self.owned)
        self.owned = set(partitions)
        self.gaps.assigned(partitions)

    async def handle(self, stream, events) -> None:
        """One micro-batch: observe each message, then outputs -> state -> offsets."""
        s = self.settings
        checkpoint = batch_checkpoint(self.producer, stream, events)
        for event in events:
            msg = event.message
            await self._ensure_loaded(msg.partition, msg.offset)
            outcome = self.engine.process(msg.value, msg.key, Source(msg.topic, msg.partition, msg.offset), now_ms())
            self.next_offset[msg.partition] = msg.offset + 1
            _count(outcome)
            for a in outcome.alerts:
                await checkpoint.send(Outgoing(s.topic_alerts, a.alert_id.encode(), a.to_json()))
            if outcome.dead_letter is not None:
                letter = outcome.dead_letter
                log.warning("alert: message rejected at %s[%s]@%s: %s: %s", msg.topic, msg.partition, msg.offset,
                            letter.reason, letter.detail)
                await checkpoint.send(Outgoing(s.topic_dlq, s.topic_explanations.encode(), letter.to_json()))
        changes = self.engine.take_changes()
        await checkpoint.complete(self._state_records(changes))
        metrics.SYMBOL_EVICTIONS.labels(STAGE_ID).inc(sum(state is None for *_, state in changes))
        self.gauges.forget_missing(self.engine)
        self.gauges.export(self.engine, [key for key, *_, state in changes if state is not None])
        metrics.LIVENESS.set(time.time())

    def _state_records(self, changes: list) -> list[Outgoing]:
        """Step 2's records: each changed key's state and each evicted key's tombstone."""
        topic = self.settings.alerts_changelog_topic
        return [Outgoing(topic, key.encode(), encode_state(key, partition, applied, state), partition)
                for key, partition, applied, state in changes]

    async def _ensure_loaded(self, partition: int, offset: int) -> None:
        """Load a partition's state from the changelog unless what is in memory continues exactly here."""
        if partition not in self.to_load and self.next_offset.get(partition) == offset:
            return
        await self.gaps.check(partition)
        self.to_load.discard(partition)
        self.engine.forget_partition(partition)
        self.gauges.forget_missing(self.engine)
        values = await asyncio.to_thread(read_partition, self.settings, self.settings.alerts_changelog_topic,
                                         partition)
        states = latest_states(_readable(values, partition))
        for key, (applied, state) in sorted(states.items(), key=lambda kv: kv[1][0]):  # oldest first: LRU order
            try:
                self.engine.load(key, partition, applied, state)
            except Exception as exc:  # noqa: BLE001 - a corrupt state must not stop the stage: that key starts afresh
                log.error("tickscope alerts: state of %r in partition %d does not restore (%s); it starts afresh",
                          key[:40], partition, f"{type(exc).__name__}: {exc}"[:200])
        log.info("tickscope alerts: state of explanations[%d] loaded: %d keys, continuing at offset %d",
                 partition, len(states), offset)


def _readable(values: list, partition: int) -> list:
    """The changelog values that decode; a corrupt one is logged and left out (its key starts fresh)."""
    out = []
    for raw in values:
        try:
            if raw is not None:
                decode_state(raw)
            out.append(raw)
        except Exception as exc:  # noqa: BLE001 - a corrupt state record must not stop the stage
            log.error("tickscope alerts: unreadable changelog record in partition %d: %s", partition,
                      f"{type(exc).__name__}: {exc}"[:200])
    return out


def _count(outcome: Outcome) -> None:
    if outcome.dead_letter is not None:
        metrics.STAGE_ERRORS.labels(STAGE_ID).inc()
        metrics.DLQ.labels(STAGE_ID, outcome.dead_letter.reason).inc()
    elif outcome.skipped == "duplicate":
        metrics.ALERT_DUPLICATES.inc()
    elif outcome.skipped is not None:
        metrics.ALERT_SKIPPED.labels(outcome.skipped).inc()
    for a in outcome.alerts:
        metrics.ALERTS.labels(a.kind, a.severity).inc()


def wire(app: faust.App, settings: Settings, model) -> None:
    engine = AlertEngine(reference_for(model, settings.data_dir), AlertParams.from_settings(settings), model.version)
    worker = AlertWorker(app, settings, engine)
    source = raw_topic(app, settings.topic_explanations)

    @app.on_partitions_assigned.connect
    async def _assigned(sender, assigned, **kwargs) -> None:
        worker.assigned({tp.partition for tp in assigned if tp.topic == settings.topic_explanations})

    @app.agent(source, name="alert")
    async def alert(stream):
        batches = stream.noack_take(settings.explain_batch_size, within=settings.explain_batch_within_s)
        await each_batch_or_exit(batches, lambda events: worker.handle(stream, events), log)
