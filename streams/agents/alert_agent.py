"""Agent ``alert``: ``explanations`` -> ``alerts`` (key = alert_id).

The stage is ``tickscope.streams.alert.AlertEngine``, built on the model
version's training reference (``tickscope.detectors.reference``). Alerts of a
batch go out through a ``Checkpoint``: acknowledged before the batch's offsets
are committed. A message that is not a readable archive record is counted and
skipped (the archive topic is the archiver's to police).
"""

from __future__ import annotations

import logging
import time

import faust

from tickscope import metrics
from tickscope.contracts.records import ArchiveRecord
from tickscope.contracts.times import now_ms
from tickscope.detectors.protocol import AlertParams
from tickscope.detectors.reference import reference_for
from tickscope.settings import Settings
from tickscope.streams.agents.runtime import FaustProducer, batch_checkpoint, raw_topic
from tickscope.streams.alert import STAGE_ID, AlertEngine
from tickscope.streams.checkpoint import Outgoing

log = logging.getLogger("tickscope.alerts")
GAUGES = {"js_feature": ("DRIFT_JS", "feature"), "js_segment": ("DRIFT_JS", "segment"),
          "cusum_faithfulness": ("FAITHFULNESS_CUSUM", "faithfulness"),
          "cusum_attention_shap_spearman": ("FAITHFULNESS_CUSUM", "attention_shap_spearman")}


def wire(app: faust.App, settings: Settings, model) -> None:
    engine = AlertEngine(reference_for(model, settings.data_dir), AlertParams.from_settings(settings), model.version)
    source = raw_topic(app, settings.topic_explanations)
    producer = FaustProducer(app)

    @app.agent(source, name="alert")
    async def alert(stream):
        async for events in stream.noack_take(settings.explain_batch_size, within=settings.explain_batch_within_s):
            checkpoint = batch_checkpoint(producer, stream, events)
            for event in events:
                for a in _alerts_for(engine, event):
                    metrics.ALERTS.labels(a.kind, a.severity).inc()
                    await checkpoint.send(Outgoing(settings.topic_alerts, a.alert_id.encode(), a.to_json()))
            await checkpoint.complete()
            export_gauges(engine)
            metrics.LIVENESS.set(time.time())


def _alerts_for(engine: AlertEngine, event) -> list:
    """The alerts one archive message raises; an unreadable message is counted and skipped."""
    msg = event.message
    try:
        record = ArchiveRecord.from_json(msg.value)
    except Exception as exc:  # the archive topic is not ours to police: count and skip
        metrics.STAGE_ERRORS.labels(STAGE_ID).inc()
        log.warning("alert: unreadable explanation at %s[%s]@%s: %s", msg.topic, msg.partition, msg.offset, exc)
        return []
    before = engine.duplicates
    alerts = engine.observe(record, now_ms())
    metrics.ALERT_DUPLICATES.inc(engine.duplicates - before)
    return alerts


def export_gauges(engine: AlertEngine) -> None:
    """Copy the engine's latest statistics into the Prometheus gauges."""
    for (name, key), value in engine.gauges().items():
        if name in GAUGES:
            gauge, label = GAUGES[name]
            getattr(metrics, gauge).labels(key, label).set(value)
        elif name == "lipschitz":
            metrics.EXPLANATION_LIPSCHITZ.labels(key).set(value)
