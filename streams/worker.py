"""The Faust worker: the app, its Kafka settings, and the agents named in ``TICKSCOPE_WORKER_AGENTS``.

Agents (one module each in ``tickscope.streams.agents``):
- ``detect`` on ``ticks`` (raw bytes): ingest -> features -> score -> gate in
  micro-batches; rejected input -> ``ticks.dlq``; significant decisions ->
  ``signals`` (key = symbol).
- ``explain`` on ``signals``: SHAP + attention -> ``explanations`` (key = symbol).
- ``alert`` on ``explanations``: drift and stability detectors -> ``alerts``.

Values are read as raw bytes so that decoding happens in the stages: an
undecodable message goes to the dead-letter topic instead of Faust's default
(log it and commit). Delivery is at-least-once; every agent sends its outputs,
state and offsets in the order of ``tickscope.streams.checkpoint``, and
consumers de-duplicate by the deterministic ids.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import faust

from tickscope.settings import Settings
from tickscope.streams.agents import alert_agent, detect_agent, explain_agent
from tickscope.streams.agents.runtime import faust_app

log = logging.getLogger("tickscope.worker")


def create_app(settings: Settings, model) -> faust.App:
    """The worker's Faust app with the agents named in TICKSCOPE_WORKER_AGENTS.

    A process running a subset (e.g. only ``detect``) joins its own consumer
    group, so stages can run in separate processes, one core each.
    """
    agents = settings.agent_set
    app = faust_app(settings, settings.consumer_group)
    arrivals: OrderedDict[str, float] = OrderedDict()  # signal_id -> tick arrival, for end-to-end latency
    if "detect" in agents:
        detect_agent.wire(app, settings, model, arrivals)
    if "explain" in agents:
        explain_agent.wire(app, settings, model, arrivals)
    if "alert" in agents and settings.alert_enabled:
        alert_agent.wire(app, settings, model)

    @app.on_partitions_assigned.connect
    async def _assigned(sender, assigned, **kwargs) -> None:
        by_topic: dict[str, list[int]] = {}
        for tp in assigned:
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        log.info("tickscope worker: partitions assigned: %s",
                 " ".join(f"{t}{sorted(p)}" for t, p in sorted(by_topic.items())) or "none")

    return app
