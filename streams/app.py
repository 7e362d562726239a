"""The Faust worker: thin agents that move records between topics and the pure stages.

Agents:
- ``detect`` on ``ticks`` (raw bytes): ingest -> features -> score -> gate in
  micro-batches; rejected input -> ``ticks.dlq``; significant decisions ->
  ``signals`` (key = symbol).
- ``explain`` on ``signals``: SHAP + attention -> ``explanations`` (key = signal_id).

Values are read as raw bytes so that decoding happens in ``streams.ingest``:
an undecodable message goes to the dead-letter topic instead of Faust's
default (log it and commit). Delivery is at-least-once; consumers de-duplicate
by signal_id, which is deterministic.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

import faust

from streams import metrics
from streams.alerts import add_alert_agent
from streams.archive import baseline_sha256, explain_signal
from streams.explain import ExplainConfig
from streams.ingest import Rejected, Source, dead_letter, now_ms
from streams.records import ArchiveRecord, DeadLetter, Signal
from streams.signals import Message, SignalDetector
from streams.state import WindowStore, encode_history
from tickscope.kafka import broker_credentials, limit_fetch_wait, read_partition
from tickscope.settings import Settings

log = logging.getLogger("tickscope.worker")
MAX_PENDING_ARRIVALS = 10_000


def create_app(settings: Settings, model) -> faust.App:
    """The worker's Faust app with the agents named in TICKSCOPE_WORKER_AGENTS.

    A process running a subset (e.g. only ``detect``) joins its own consumer
    group, so stages can run in separate processes, one core each.
    """
    limit_fetch_wait(settings.fetch_max_wait_ms)
    agents = settings.agent_set
    app = faust.App(
        settings.consumer_group,
        broker=";".join(f"kafka://{s}" for s in settings.bootstrap_list),
        broker_credentials=broker_credentials(settings),
        store="memory://",
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_allow_declare=True,
        value_serializer="raw",
        key_serializer="raw",
        broker_session_timeout=settings.broker_session_timeout_s,
        broker_rebalance_timeout=settings.broker_rebalance_timeout_s,
        broker_heartbeat_interval=settings.broker_heartbeat_interval_s,
        consumer_auto_offset_reset="earliest",
        datadir=str(settings.data_dir / "faust"),
    )
    arrivals: OrderedDict[str, float] = OrderedDict()  # signal_id -> tick arrival, for end-to-end latency
    if "detect" in agents:
        _wire_detect(app, settings, model, arrivals)
    if "explain" in agents:
        _wire_explain(app, settings, model, arrivals)
    if "alert" in agents:
        add_alert_agent(app, settings, model)  # explanations -> alerts (streams/alerts.py)
    return app


def _topic(app: faust.App, name: str):
    return app.topic(name, key_serializer="raw", value_serializer="raw")


def _wire_detect(app: faust.App, settings: Settings, model, arrivals: OrderedDict) -> None:
    ticks, dlq = _topic(app, settings.topic_ticks), _topic(app, settings.topic_dlq)
    signals = _topic(app, settings.topic_signals)
    changelog_name = settings.state_changelog_topic
    store = WindowStore(lambda partition: read_partition(settings, changelog_name, partition))
    detector = SignalDetector(model, settings.signal_cooldown_ticks, settings.max_message_bytes, store)

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
            acks = []
            for letter in outcome.dead_letters:
                metrics.DLQ.labels(letter.stage, letter.reason).inc()
                acks.append(await dlq.send(key=letter.source_topic.encode(), value=letter.to_json()))
            for sig in outcome.signals:
                metrics.SIGNALS.labels(sig.direction).inc()
                _remember_arrival(arrivals, sig.signal_id, outcome.arrivals[sig.signal_id])
                acks.append(await signals.send(key=sig.symbol.encode(), value=sig.to_json()))
            for ack in acks:
                await ack  # outputs are on the broker before the state that includes their ticks
            saved = []
            for symbol, partition in outcome.changed.items():  # straight to the producer: no per-message callbacks
                state = encode_history(symbol, partition, detector.histories[symbol])
                saved.append(await app.producer.send(changelog_name, symbol.encode(), state, partition, None, None))
            for ack in saved:
                await ack  # state is on the broker before this batch's offsets can be committed
            for event in events:
                await stream.ack(event)  # only now may the batch's offsets be committed
            _observe_lag(app, events)
            metrics.LIVENESS.set(time.time())


def _wire_explain(app: faust.App, settings: Settings, model, arrivals: OrderedDict) -> None:
    dlq, signals = _topic(app, settings.topic_dlq), _topic(app, settings.topic_signals)
    explanations = _topic(app, settings.topic_explanations)
    config = ExplainConfig(threads=settings.torch_threads)
    baseline = model.baseline.numpy()
    baseline_hash = baseline_sha256(baseline)

    @app.agent(signals, name="explain")
    async def explain_signals(stream):
        # a micro-batch of the signals already waiting: each record is sent as soon as it is explained, and the
        # broker's acks are awaited once per batch; noack_take: never ack a batch cancelled half-way
        async for events in stream.noack_take(settings.explain_batch_size, within=settings.explain_batch_within_s):
            results, delivered = [], []
            for event in events:
                result = _explain_one(event, model, config, baseline, baseline_hash)
                if isinstance(result, DeadLetter):
                    delivered.append(await dlq.send(key=settings.topic_signals.encode(), value=result.to_json()))
                else:
                    delivered.append(await explanations.send(key=result.signal_id.encode(), value=result.to_json()))
                results.append(result)
                await asyncio.sleep(0)  # let the producer put it on the wire before the next explanation
            for ack in delivered:
                await ack  # on the broker before these signals' offsets can be committed
            for event in events:
                await stream.ack(event)
            for result in results:
                if isinstance(result, DeadLetter):
                    continue
                arrived = arrivals.pop(result.signal_id, None)
                if arrived is not None:
                    metrics.END_TO_END_SECONDS.observe(time.monotonic() - arrived)
                metrics.EXPLANATIONS.inc()
            metrics.LIVENESS.set(time.time())


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


def _message(event) -> Message:
    msg = event.message
    return Message(msg.key, msg.value, Source(msg.topic, msg.partition, msg.offset), time.monotonic())


def _count(outcome) -> None:
    metrics.TICKS_ACCEPTED.inc(outcome.accepted)
    metrics.WINDOWS_SCORED.inc(outcome.scored)
    for reason, n in outcome.dropped.items():
        metrics.TICKS_DROPPED.labels(reason).inc(n)


def _explain_one(event, model, config, baseline, baseline_hash) -> ArchiveRecord | DeadLetter:
    """The archive record, or a DeadLetter if the signal cannot be explained."""
    msg = event.message
    started = time.perf_counter()
    try:
        signal = Signal.from_json(msg.value)
        if signal.model_version != model.version:
            raise Rejected("model_version_mismatch", f"signal from model {signal.model_version[:12]}, worker runs {model.version[:12]}")
        record = explain_signal(signal, model.net, baseline, baseline_hash, config, produced_at=0)
        record = record.model_copy(update={"produced_at": now_ms()})  # stamped when the explanation is done
    except Exception as exc:  # never die of input: route it with a reason
        metrics.STAGE_ERRORS.labels("explain").inc()
        log.warning("explain failed at %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, exc)
        reason = exc if isinstance(exc, Rejected) else Rejected("explain_error", f"{type(exc).__name__}: {exc}")
        letter = dead_letter(msg.value, msg.key, reason, Source(msg.topic, msg.partition, msg.offset))
        metrics.DLQ.labels("explain", reason.reason).inc()
        return letter.model_copy(update={"stage": "explain"})
    metrics.EXPLAIN_SECONDS.observe(time.perf_counter() - started)
    metrics.ADDITIVITY_ERROR.set(record.additivity_error)
    return record
