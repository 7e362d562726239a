"""Agent ``explain``: ``signals`` -> ``explanations`` (and ``ticks.dlq`` for signals that cannot be explained).

The stage is ``tickscope.streams.explain.explain_message``. The agent takes a
micro-batch of the signals already waiting and sends each record as soon as it
is explained; the ``Checkpoint`` then awaits the broker's acks once per batch
before the batch's offsets are committed. The stage has no state.

Archive records are keyed by symbol (docs/contracts.md): ``signals`` is keyed
by symbol too, so one symbol's explanations land in one partition of
``explanations`` in the order its signals were produced, which is what makes
the alert detectors deterministic. Before the first message of a newly
assigned partition, a gap (committed offset below the log start) is counted
and logged (``gaps.GapWatch``). A batch that fails (the broker unreachable, a bug) stops the whole worker
(``runtime.each_batch_or_exit``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

import faust

from tickscope import metrics
from tickscope.contracts.dead_letters import Source
from tickscope.contracts.records import DeadLetter
from tickscope.explainer.baseline_shapley import ExplainConfig
from tickscope.settings import Settings
from tickscope.streams.agents.gaps import GapWatch, group_offsets, watch_assignments
from tickscope.streams.agents.runtime import FaustProducer, batch_checkpoint, each_batch_or_exit, raw_topic
from tickscope.streams.checkpoint import Outgoing
from tickscope.streams.explain import STAGE_ID, Explaining, explain_message

log = logging.getLogger("tickscope.worker")


def wire(app: faust.App, settings: Settings, model, arrivals: OrderedDict) -> None:
    signals = raw_topic(app, settings.topic_signals)
    explaining = Explaining.for_model(model, ExplainConfig(threads=settings.torch_threads))
    producer = FaustProducer(app)
    gaps = GapWatch(STAGE_ID, settings.topic_signals,
                    group_offsets(settings, settings.consumer_group, settings.topic_signals))
    watch_assignments(app, gaps)

    @app.agent(signals, name="explain")
    async def explain_signals(stream):
        async def batch(events) -> None:
            for partition in sorted({event.message.partition for event in events}):
                await gaps.check(partition)
            checkpoint = batch_checkpoint(producer, stream, events)
            results = []
            for event in events:
                result = _explain(event, explaining)
                results.append(result)
                if isinstance(result, DeadLetter):
                    await checkpoint.send(Outgoing(settings.topic_dlq, settings.topic_signals.encode(),
                                                   result.to_json()))
                else:
                    await checkpoint.send(Outgoing(settings.topic_explanations, result.symbol.encode(),
                                                   result.to_json()))
                await asyncio.sleep(0)  # let the producer put it on the wire before the next explanation
            await checkpoint.complete()
            _observed(results, arrivals)

        # noack_take: never ack a batch cancelled half-way
        batches = stream.noack_take(settings.explain_batch_size, within=settings.explain_batch_within_s)
        await each_batch_or_exit(batches, batch, log)


def _observed(results: list, arrivals: OrderedDict) -> None:
    for result in results:
        if not isinstance(result, DeadLetter):
            arrived = arrivals.pop(result.signal_id, None)
            if arrived is not None:
                metrics.END_TO_END_SECONDS.observe(time.monotonic() - arrived)
            metrics.EXPLANATIONS.inc()
    metrics.LIVENESS.set(time.time())


def _explain(event, explaining: Explaining):
    """The stage on one event, with its metrics and a log line naming topic[partition]@offset on failure."""
    msg = event.message
    started = time.perf_counter()
    result = explain_message(msg.value, msg.key, Source(msg.topic, msg.partition, msg.offset), explaining)
    if isinstance(result, DeadLetter):
        metrics.STAGE_ERRORS.labels(STAGE_ID).inc()
        metrics.DLQ.labels(STAGE_ID, result.reason).inc()
        log.warning("explain failed at %s[%s]@%s: %s: %s", msg.topic, msg.partition, msg.offset, result.reason,
                    result.detail)
        return result
    metrics.EXPLAIN_SECONDS.observe(time.perf_counter() - started)
    metrics.ADDITIVITY_ERROR.set(result.additivity_error)
    return result
