"""A Faust worker that reads ``ticks`` in the same micro-batches as ``tickscope worker`` and does
nothing else: the ceiling ``tickscope bench pipeline`` compares the real worker against.

Run as ``python -m bench.noop_worker`` (the repository root on PYTHONPATH) with the worker's TICKSCOPE_*
environment.
"""

from __future__ import annotations

import faust
from prometheus_client import start_http_server

from tickscope import metrics
from tickscope.settings import get_settings
from tickscope.streams.agents.runtime import faust_app, raw_topic

NOOP_BATCH, NOOP_WITHIN_S = 1024, 0.02  # the micro-batches the Faust detect agent used to take


def main() -> None:
    settings = get_settings()
    app = faust_app(settings, f"{settings.app_id}-noop")  # the worker's own app settings, in its own group
    ticks = raw_topic(app, settings.topic_ticks)

    @app.agent(ticks, name="noop")
    async def noop(stream):
        async for events in stream.take_events(NOOP_BATCH, within=NOOP_WITHIN_S):
            metrics.TICKS_IN.inc(len(events))

    if settings.metrics_port:
        start_http_server(settings.metrics_port)
    print("noop worker starting", flush=True)
    faust.Worker(app, loglevel="info").execute_from_commandline()


if __name__ == "__main__":
    main()
