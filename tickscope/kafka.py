"""Kafka plumbing shared by the worker: credentials, consumer tuning, partition reads."""

from __future__ import annotations

import ssl

import faust

from tickscope.settings import Settings


def broker_credentials(settings: Settings):
    """Faust credentials for SASL and/or TLS, or None for PLAINTEXT."""
    context = _ssl_context(settings) if "SSL" in settings.kafka_security_protocol else None
    if settings.kafka_sasl_mechanism:
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        return faust.SASLCredentials(username=settings.kafka_sasl_username, password=password,
                                     mechanism=settings.kafka_sasl_mechanism, ssl_context=context)
    return faust.SSLCredentials(context) if context is not None else None


def _ssl_context(settings: Settings) -> ssl.SSLContext:
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


def read_partition(settings: Settings, topic: str, partition: int, quiet_ms: int = 300) -> list[bytes]:
    """Every value of one partition, from its start to its end (blocking).

    The end is where a poll comes back empty after the reported end offset has
    been reached: the embedded broker (Tansu 0.6) under-reports a partition's
    end offset (ListOffsets gave 1,127 for 1,250 contiguous records), so the
    reported end alone would silently drop the newest records.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**settings.kafka_python_config(), enable_auto_commit=False, group_id=None)
    tp = TopicPartition(topic, partition)
    try:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        reported_end = consumer.end_offsets([tp])[tp]
        values: list[bytes] = []
        while True:
            batch = consumer.poll(timeout_ms=quiet_ms).get(tp, [])
            values.extend(r.value for r in batch)
            if not batch and consumer.position(tp) >= reported_end:
                return values
    finally:
        consumer.close()
