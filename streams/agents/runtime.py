"""What every agent shares: the Faust app, raw topics, the producer adapter and the batch checkpoint."""

from __future__ import annotations

import logging
import os
import ssl
import sys

import faust
import mode

from tickscope.settings import Settings
from tickscope.streams.checkpoint import Checkpoint, Outgoing

PRODUCER_BATCH_BYTES = 256 * 1024  # Faust's 16 KiB default made a checkpoint of ~1,000 state records slow
EXIT_BATCH_FAILED = 70  # EX_SOFTWARE: a batch failed and the worker must restart from its last commit
_exit = os._exit  # a name the unit test can replace


def broker_credentials(settings: Settings):
    """Faust credentials for SASL and/or TLS, or None for PLAINTEXT."""
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile) \
        if "SSL" in settings.kafka_security_protocol else None
    if settings.kafka_sasl_mechanism:
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        return faust.SASLCredentials(username=settings.kafka_sasl_username, password=password,
                                     mechanism=settings.kafka_sasl_mechanism, ssl_context=context)
    return faust.SSLCredentials(context) if context is not None else None


def aiokafka_options(settings: Settings) -> dict:
    """Connection, security and group timing options of an aiokafka client, from the settings (as Faust's)."""
    options: dict = {
        "bootstrap_servers": settings.bootstrap_list,
        "security_protocol": settings.kafka_security_protocol,
        "session_timeout_ms": int(settings.broker_session_timeout_s * 1000),
        "rebalance_timeout_ms": int(settings.broker_rebalance_timeout_s * 1000),
        "heartbeat_interval_ms": int(settings.broker_heartbeat_interval_s * 1000),
    }
    if "SSL" in settings.kafka_security_protocol:
        options["ssl_context"] = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_sasl_mechanism:
        options.update(sasl_mechanism=settings.kafka_sasl_mechanism,
                       sasl_plain_username=settings.kafka_sasl_username,
                       sasl_plain_password=settings.kafka_sasl_password.get_secret_value()
                       if settings.kafka_sasl_password else None)
    return options


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


def faust_app(settings: Settings, group: str) -> faust.App:
    """A Faust app in consumer group ``group`` with tickscope's broker, security and timing settings."""
    limit_fetch_wait(settings.fetch_max_wait_ms)
    return faust.App(
        group,
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
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
        agent_supervisor=mode.CrashingSupervisor,  # an agent that raises takes the worker down: never half alive
        datadir=str(settings.data_dir / "faust"),
    )


def raw_topic(app: faust.App, name: str):
    """A topic whose keys and values the agents see as the bytes on the wire."""
    return app.topic(name, key_serializer="raw", value_serializer="raw")


class FaustProducer:
    """The ``checkpoint.Producer`` over the Faust app's own producer (no per-message callbacks)."""

    def __init__(self, app: faust.App):
        self.app = app

    async def send(self, record: Outgoing):
        return await self.app.producer.send(record.topic, record.key, record.value, record.partition, None, None)


async def each_batch_or_exit(batches, handle, log) -> None:
    """``await handle(batch)`` for each micro-batch; anything raised ends the process at once (status 70).

    Faust restarts a crashed agent in place, and that agent would carry state that may include outputs never
    acknowledged, behind offsets that can no longer be committed (the failed batch is never acked): the stage
    would look alive while its group's offsets never move again. Faust's own crash path (``app.crash``) did not
    end the process either: the restarted agent's supervisor never finished stopping. So the process exits at
    once, as a ``kill -9`` would, which the delivery order (``tickscope.streams.checkpoint``) is built to
    survive: its supervisor (compose, Kubernetes, ``tickscope up``) restarts it from the last commit.
    """
    try:
        async for batch in batches:
            await handle(batch)
    except Exception:
        log.critical("tickscope worker: a batch failed; exiting (status %d) so that the worker restarts from its "
                     "last commit", EXIT_BATCH_FAILED, exc_info=True)
        logging.shutdown()
        sys.stdout.flush()
        _exit(EXIT_BATCH_FAILED)


def batch_checkpoint(producer: FaustProducer, stream, events) -> Checkpoint:
    """The Checkpoint of one micro-batch: step 3 acknowledges its events, so Faust may commit their offsets."""

    async def commit() -> None:
        for event in events:
            await stream.ack(event)

    return Checkpoint(producer, commit)
