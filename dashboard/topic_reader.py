"""The Kafka thread that fills the dashboard's ``Store`` from ``ticks``, ``explanations`` and ``alerts``.

No consumer group: every partition is assigned from the beginning, the topic
metadata is re-read every ``refresh_s`` (topics may be created after the
dashboard starts), and the thread keeps retrying while the broker is not
reachable. ``fetch_max_wait_ms`` is small (50 ms) so a record is in the store
within one fetch of reaching the topic (the broker may hold a fetch for the
whole wait when few bytes are available).

Every message goes through ``Store.add_raw`` (``isolate`` around a pure
decode): a hostile message is counted and passed, never retried. The position
moves past each message as it is handled, so even a failure outside the decode
cannot pin the reader to one offset. After each batch the store notifies its
subscribers (the pages being pushed to): one consumer feeds every browser.

A gap is never silent: when the first message a partition delivers is beyond
the position the reader expected (retention deleted messages while the reader
was behind or disconnected, and the client reset to the log start), the missed
offsets are counted in ``tickscope_input_gap_messages_total{stage="dashboard"}``
(alert ``TickscopeInputGap``), in the status counters, and logged at ERROR.
"""

from __future__ import annotations

import logging
import threading
import time

from tickscope.contracts.dead_letters import Source

log = logging.getLogger(__name__)


class KafkaFeed(threading.Thread):
    """Background thread: every partition of ``topics`` from the beginning into a Store.

    No consumer group and no commits: each dashboard process reads everything.
    Positions are remembered across reconnects, and the store is idempotent,
    so a reconnect never shows a signal twice.
    """

    def __init__(self, store, kafka_config: dict, topic_ticks: str, topic_explanations: str,
                 refresh_s: float = 2.0, retry_s: float = 2.0, poll_ms: int = 200, connect_timeout_ms: int = 5000,
                 topic_alerts: str | None = None, fetch_max_wait_ms: int = 50):
        super().__init__(name="tickscope-dashboard-feed", daemon=True)
        self.store = store
        self.kafka_config = dict(kafka_config)
        self.topic_ticks = topic_ticks
        self.topic_explanations = topic_explanations
        self.topic_alerts = topic_alerts
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.refresh_s = refresh_s
        self.retry_s = retry_s
        self.poll_ms = poll_ms
        self.connect_timeout_ms = connect_timeout_ms
        self._stop_event = threading.Event()
        self._positions: dict = {}  # TopicPartition -> next offset to read

    def stop(self, join_s: float = 5.0) -> None:
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(join_s)

    def run(self) -> None:
        while not self._stop_event.is_set():
            consumer = None
            try:
                self.store.set_status("connecting", f"connecting to {self._bootstrap_text()}")
                consumer = self._connect()
                self._consume(consumer)
            except Exception as exc:  # broker down, connection lost, metadata error: retry
                log.warning("dashboard feed: %s: %s; retrying in %.1f s", type(exc).__name__, exc, self.retry_s)
                self.store.set_status("error", f"{type(exc).__name__}: {exc}"[:200])
                self._stop_event.wait(self.retry_s)
            finally:
                if consumer is not None:
                    try:
                        consumer.close()
                    except Exception:  # noqa: BLE001 - closing a broken consumer may fail too
                        pass
        self.store.set_status("stopped")

    def _bootstrap_text(self) -> str:
        b = self.kafka_config.get("bootstrap_servers")
        return ",".join(b) if isinstance(b, (list, tuple)) else str(b)

    def _connect(self):
        from kafka import KafkaConsumer

        return KafkaConsumer(
            **self.kafka_config,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            allow_auto_create_topics=False,  # the worker creates topics with the right partition count
            client_id="tickscope-dashboard",
            bootstrap_timeout_ms=self.connect_timeout_ms,
            request_timeout_ms=10000,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
        )

    def _topics(self) -> list[str]:
        return [t for t in (self.topic_ticks, self.topic_explanations, self.topic_alerts) if t]

    def _refresh_assignment(self, consumer) -> None:
        from kafka import TopicPartition

        existing = consumer.topics()  # forces a metadata fetch
        wanted = set()
        for topic in self._topics():
            if topic in existing:
                wanted.update(TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic))
        if wanted != consumer.assignment():
            old = consumer.assignment()
            consumer.assign(sorted(wanted))
            fresh = [tp for tp in wanted if tp not in old]
            for tp in fresh:
                if tp in self._positions:
                    consumer.seek(tp, self._positions[tp])
                else:
                    consumer.seek_to_beginning(tp)
            if fresh:
                log.info("dashboard feed: assigned %d partition(s)", len(wanted))
        missing = [t for t in self._topics() if t not in existing]
        detail = f"{len(wanted)} partition(s)" + (f"; waiting for topic(s) {', '.join(missing)}" if missing else "")
        self.store.set_status("connected", detail, partitions=len(wanted))

    def _consume(self, consumer) -> None:
        next_refresh = 0.0
        while not self._stop_event.is_set():
            if time.monotonic() >= next_refresh:
                self._refresh_assignment(consumer)
                next_refresh = time.monotonic() + self.refresh_s
            if not consumer.assignment():
                self._stop_event.wait(min(self.refresh_s, 0.5))
                continue
            batches = consumer.poll(timeout_ms=self.poll_ms, max_records=5000)
            for tp, msgs in batches.items():
                kind = self._kind(tp.topic)
                if msgs:
                    self._check_continuity(tp, msgs[0].offset)
                for m in msgs:
                    self._apply(kind, m, Source(tp.topic, tp.partition, m.offset))
                    self._positions[tp] = m.offset + 1
            if batches:
                self.store.notify()

    def _check_continuity(self, tp, first_offset: int) -> None:
        """Count and log the offsets skipped when a partition resumes beyond the expected position."""
        from tickscope import metrics

        expected = self._positions.get(tp)
        if expected is None or first_offset <= expected:
            return
        missed = first_offset - expected
        metrics.INPUT_GAP.labels("dashboard", tp.topic).inc(missed)
        self.store.count("input_gap_messages", missed)
        log.error("dashboard feed: %s/%d resumed at offset %d, expected %d: %d message(s) deleted by retention "
                  "before they were read", tp.topic, tp.partition, first_offset, expected, missed)

    def _kind(self, topic: str) -> str:
        if topic == self.topic_ticks:
            return "ticks"
        return "records" if topic == self.topic_explanations else "alerts"

    def _apply(self, kind: str, message, source: Source) -> None:
        """One message into the store; never raises (the decode is isolated; this guards the rest)."""
        try:
            self.store.add_raw(kind, message.value, message.key, source)
        except Exception:  # noqa: BLE001 - a bug applying one message must not stop the reader
            log.exception("dashboard feed: applying %s %s/%d@%d failed; skipped", kind, source.topic,
                          source.partition, source.offset)
            self.store.count("apply_errors")
