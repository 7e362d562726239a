"""A Faust worker that reads ``ticks`` in the same micro-batches as ``tickscope worker`` and does
nothing else: the ceiling ``tickscope bench pipeline`` compares the real worker against.

Run as ``python -m tickscope.bench_noop_app`` with the worker's TICKSCOPE_* environment.
"""

from __future__ import annotations

import faust
from prometheus_client import start_http_server

from streams import metrics
from tickscope.kafka import limit_fetch_wait
from tickscope.settings import get_settings


def main() -> None:
    settings = get_settings()
    limit_fetch_wait(settings.fetch_max_wait_ms)
    app = faust.App(f"{settings.app_id}-noop", broker=f"kafka://{settings.kafka_bootstrap}", store="memory://",
                    web_enabled=False, value_serializer="raw", key_serializer="raw",
                    broker_session_timeout=settings.broker_session_timeout_s,
                    broker_rebalance_timeout=settings.broker_rebalance_timeout_s,
                    consumer_auto_offset_reset="earliest", datadir=str(settings.data_dir / "faust-noop"))
    ticks = app.topic(settings.topic_ticks, key_serializer="raw", value_serializer="raw")

    @app.agent(ticks, name="noop")
    async def noop(stream):
        async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
            metrics.TICKS_IN.inc(len(events))

    if settings.metrics_port:
        start_http_server(settings.metrics_port)
    print("noop worker starting", flush=True)
    faust.Worker(app, loglevel="info").execute_from_commandline()


if __name__ == "__main__":
    main()
