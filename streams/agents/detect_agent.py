"""Agent ``detect``: ``ticks`` -> ``signals`` and ``ticks.dlq``, with the window state in its changelog.

The stage is ``tickscope.streams.detect.SignalDetector``; this agent reads raw
tick messages in micro-batches, hands them to it, and delivers what it returns
through a ``Checkpoint``: dead letters and signals first, then each changed
symbol's window state (stamped with the offset it includes), then the offsets.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import faust

from tickscope import metrics
from tickscope.contracts.dead_letters import Source
from tickscope.contracts.times import now_ms
from tickscope.settings import Settings
from tickscope.streams.agents.runtime import FaustProducer, batch_checkpoint, raw_topic
from tickscope.streams.checkpoint import Outgoing
from tickscope.streams.detect import BatchOutcome, Message, SignalDetector
from tickscope.streams.state import WindowStore, encode_history
from tickscope.transport.partitions import read_partition

MAX_PENDING_ARRIVALS = 10_000  # signals whose end-to-end latency is still to be observed


def wire(app: faust.App, settings: Settings, model, arrivals: OrderedDict) -> None:
    ticks = raw_topic(app, settings.topic_ticks)
    changelog = settings.state_changelog_topic
    store = WindowStore(lambda partition: read_partition(settings, changelog, partition))
    detector = SignalDetector(model, settings.signal_cooldown_ticks, settings.max_message_bytes, store)
    producer = FaustProducer(app)

    @app.agent(ticks, name="detect")
    async def detect(stream):
        # noack_take, not take_events: take_events acks a batch in a ``finally`` even when the agent is
        # cancelled mid-batch (a graceful stop or rebalance), committing ticks whose outputs were never sent
        async for events in stream.noack_take(settings.batch_size, within=settings.batch_within_s):
            messages = [_message(e) for e in events]
            metrics.TICKS_IN.inc(len(messages))
            started = time.perf_counter()
            outcome = detector.process(messages, now_ms())
            metrics.SCORE_BATCH_SECONDS.observe(time.perf_counter() - started)
            _count(outcome)
            checkpoint = batch_checkpoint(producer, stream, events)
            for letter in outcome.dead_letters:
                metrics.DLQ.labels(letter.stage, letter.reason).inc()
                await checkpoint.send(Outgoing(settings.topic_dlq, letter.source_topic.encode(), letter.to_json()))
            for sig in outcome.signals:
                metrics.SIGNALS.labels(sig.direction).inc()
                _remember_arrival(arrivals, sig.signal_id, outcome.arrivals[sig.signal_id])
                await checkpoint.send(Outgoing(settings.topic_signals, sig.symbol.encode(), sig.to_json()))
            state = [Outgoing(changelog, symbol.encode(), encode_history(symbol, partition, detector.histories[symbol]),
                              partition) for symbol, partition in outcome.changed.items()]
            await checkpoint.complete(state)
            _observe_lag(app, events)
            metrics.LIVENESS.set(time.time())


def _message(event) -> Message:
    msg = event.message
    return Message(msg.key, msg.value, Source(msg.topic, msg.partition, msg.offset), time.monotonic())


def _count(outcome: BatchOutcome) -> None:
    metrics.TICKS_ACCEPTED.inc(outcome.accepted)
    metrics.WINDOWS_SCORED.inc(outcome.scored)
    for reason, n in outcome.dropped.items():
        metrics.TICKS_DROPPED.labels(reason).inc(n)


def _remember_arrival(arrivals: OrderedDict, signal_id: str, arrived_at: float) -> None:
    arrivals[signal_id] = arrived_at
    while len(arrivals) > MAX_PENDING_ARRIVALS:
        arrivals.popitem(last=False)  # explained by another worker after a rebalance


def _observe_lag(app: faust.App, events) -> None:
    """Messages behind the partition's end, per ticks partition seen in this batch."""
    last: dict = {}
    for e in events:
        last[e.message.tp] = max(last.get(e.message.tp, -1), e.message.offset)
    for tp, offset in last.items():
        try:
            highwater = app.consumer.highwater(tp)
        except Exception:  # highwater unknown before the first fetch response
            continue
        if highwater is not None:
            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - offset - 1))
