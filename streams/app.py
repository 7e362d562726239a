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

import logging
import time
from collections import OrderedDict

import faust

from streams import metrics
from streams.archive import archive_record, baseline_sha256
from streams.explain import ExplainConfig, explain
from streams.ingest import Rejected, Source, dead_letter, now_ms
from streams.records import ArchiveRecord, DeadLetter, Signal, seed_for
from streams.signals import Message, SignalDetector
from tickscope.settings import Settings

log = logging.getLogger("tickscope.worker")
MAX_PENDING_ARRIVALS = 10_000


def broker_credentials(settings: Settings):
    if settings.kafka_sasl_mechanism:
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=_ssl_context(settings) if "SSL" in settings.kafka_security_protocol else None,
        )
    if settings.kafka_security_protocol == "SSL":
        return _ssl_context(settings)
    return None


def _ssl_context(settings: Settings):
    import ssl

    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile)


def limit_fetch_wait(max_wait_ms: int) -> None:
    """Cap the broker long-poll of Faust's consumer (hard-coded to 1,500 ms in
    faust-streaming 0.15): on brokers that hold an empty fetch for the whole
    wait, that wait is added to every hop's latency."""
    from faust.transport.drivers import aiokafka as driver

    cls = driver.AIOKafkaConsumerThread
    original = getattr(cls, "_tickscope_original_create", cls._create_worker_consumer)

    def create(self, transport):
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = min(consumer._fetch_max_wait_ms, max_wait_ms)
        return consumer

    cls._tickscope_original_create = original
    cls._create_worker_consumer = create


def create_app(settings: Settings, model) -> faust.App:
    limit_fetch_wait(settings.fetch_max_wait_ms)
    app = faust.App(
        settings.app_id,
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
    _wire(app, settings, model)
    return app


def _topic(app: faust.App, name: str):
    return app.topic(name, key_serializer="raw", value_serializer="raw")


def _wire(app: faust.App, settings: Settings, model) -> None:
    ticks, dlq = _topic(app, settings.topic_ticks), _topic(app, settings.topic_dlq)
    signals, explanations = _topic(app, settings.topic_signals), _topic(app, settings.topic_explanations)
    detector = SignalDetector(model, settings.signal_cooldown_ticks, settings.max_message_bytes)
    config = ExplainConfig(threads=settings.torch_threads)
    baseline = model.baseline.numpy()
    baseline_hash = baseline_sha256(baseline)
    arrivals: OrderedDict[str, float] = OrderedDict()  # signal_id -> tick arrival, for end-to-end latency

    @app.agent(ticks, name="detect")
    async def detect(stream):
        async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
            messages = [_message(e) for e in events]
            metrics.TICKS_IN.inc(len(messages))
            started = time.perf_counter()
            outcome = detector.process(messages, now_ms())
            metrics.SCORE_BATCH_SECONDS.observe(time.perf_counter() - started)
            _count(outcome)
            for letter in outcome.dead_letters:
                metrics.DLQ.labels(letter.stage, letter.reason).inc()
                await dlq.send(key=letter.source_topic.encode(), value=letter.to_json())
            for sig in outcome.signals:
                metrics.SIGNALS.labels(sig.direction).inc()
                arrivals[sig.signal_id] = outcome.arrivals[sig.signal_id]
                while len(arrivals) > MAX_PENDING_ARRIVALS:
                    arrivals.popitem(last=False)  # explained by another worker after a rebalance
                await signals.send(key=sig.symbol.encode(), value=sig.to_json())
            metrics.LIVENESS.set(time.time())

    @app.agent(signals, name="explain")
    async def explain_signals(stream):
        async for event in stream.events():
            result = _explain_one(event, model, config, baseline, baseline_hash)
            if isinstance(result, DeadLetter):
                await dlq.send(key=settings.topic_signals.encode(), value=result.to_json())
                continue
            await explanations.send(key=result.signal_id.encode(), value=result.to_json())
            arrived = arrivals.pop(result.signal_id, None)
            if arrived is not None:
                metrics.END_TO_END_SECONDS.observe(time.monotonic() - arrived)
            metrics.EXPLANATIONS.inc()
            metrics.LIVENESS.set(time.time())


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
        seed = seed_for(signal.signal_id)
        expl = explain(model.net, signal.window, baseline, seed, config)
        record = archive_record(signal, expl, config, seed, baseline_hash, now_ms())
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
