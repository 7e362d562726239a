"""In-memory store behind the dashboard, and the Kafka thread that fills it.

The store is the only state shared between the consumer thread and Dash's
request threads; every access goes through one lock and readers get copies.

- Ticks: validated exactly like the worker's ingest stage
  (``streams.ingest.validate``); anything that does not validate is skipped
  and counted. Per symbol the newest ``max_points`` (ts, price) points are
  kept. A tick whose ts is not later than the symbol's last kept tick is a
  duplicate or out of order (the same gap rule as the features) and is
  skipped, so a replayed feed never folds the line back on itself.
- Archive records: validated as ``ArchiveRecord``; de-duplicated by
  ``signal_id`` (delivery is at-least-once, a signal may arrive twice: the
  first copy wins and the rest are counted). At most ``max_records`` are
  kept; the oldest by event time are evicted first.

``KafkaFeed`` reads ``ticks`` and ``explanations`` without a consumer group:
it assigns every partition from the beginning, re-reads the topic metadata
every ``refresh_s`` (topics may be created after the dashboard starts), and
keeps retrying while the broker is not reachable.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from pydantic import ValidationError

from streams.ingest import Rejected, validate
from streams.records import ArchiveRecord

log = logging.getLogger(__name__)

DEFAULT_MAX_RECORDS = 10_000


@dataclass
class _Series:
    ts: deque
    price: deque
    version: int = 0


@dataclass(frozen=True)
class SignalRow:
    """The table/marker view of one archive record (all values from the record)."""

    signal_id: str
    symbol: str
    ts: int
    price: float
    direction: str
    score: float
    threshold: float


@dataclass
class FeedStatus:
    state: str = "starting"  # starting | connecting | connected | error | stopped
    detail: str = ""
    partitions: int = 0
    since: float = field(default_factory=time.time)


class Store:
    """Thread-safe per-symbol price points plus de-duplicated archive records."""

    def __init__(self, max_points: int = 100_000, max_records: int = DEFAULT_MAX_RECORDS,
                 max_tick_bytes: int = 4096):
        if max_points < 1 or max_records < 1:
            raise ValueError("max_points and max_records must be >= 1")
        self.max_points = max_points
        self.max_records = max_records
        self.max_tick_bytes = max_tick_bytes
        self._lock = threading.Lock()
        self._series: dict[str, _Series] = {}
        self._records: dict[str, dict] = {}  # signal_id -> record dict (ArchiveRecord.model_dump())
        self._order: list[tuple[int, str]] = []  # (ts, signal_id) sorted ascending
        self._version = 0
        self.counters: Counter = Counter()
        self.status = FeedStatus()

    # ---- writers (consumer thread) -------------------------------------------------

    def add_tick_raw(self, raw: bytes | None, key: bytes | None) -> bool:
        """Validate one raw ``ticks`` message; keep it if valid. Returns True if kept."""
        try:
            tick = validate(raw, key, self.max_tick_bytes)
        except Rejected as exc:
            with self._lock:
                self.counters["ticks_rejected"] += 1
                self.counters[f"ticks_rejected_{exc.reason}"] += 1
            return False
        return self.add_point(tick.symbol, tick.ts, tick.price)

    def add_point(self, symbol: str, ts: int, price: float) -> bool:
        with self._lock:
            s = self._series.get(symbol)
            if s is None:
                s = self._series[symbol] = _Series(deque(maxlen=self.max_points), deque(maxlen=self.max_points))
            if s.ts and ts <= s.ts[-1]:
                self.counters["ticks_stale"] += 1
                return False
            s.ts.append(int(ts))
            s.price.append(float(price))
            s.version += 1
            self._version += 1
            self.counters["ticks"] += 1
            return True

    def add_record_raw(self, raw: bytes | None) -> bool:
        """Validate one raw ``explanations`` message; keep it unless invalid or a duplicate."""
        try:
            rec = ArchiveRecord.from_json(raw if raw is not None else b"")
        except (ValidationError, ValueError, TypeError):
            with self._lock:
                self.counters["records_rejected"] += 1
            return False
        return self.add_record(rec.model_dump())

    def add_record(self, rec: dict) -> bool:
        sid = rec["signal_id"]
        with self._lock:
            if sid in self._records:
                self.counters["records_duplicate"] += 1
                return False
            self._records[sid] = rec
            bisect.insort(self._order, (int(rec["ts"]), sid))
            while len(self._order) > self.max_records:
                _, old = self._order.pop(0)
                del self._records[old]
                self.counters["records_evicted"] += 1
            self._version += 1
            self.counters["records"] += 1
            return True

    def set_status(self, state: str, detail: str = "", partitions: int | None = None) -> None:
        with self._lock:
            if state != self.status.state:
                self.status.since = time.time()
            self.status.state = state
            self.status.detail = detail
            if partitions is not None:
                self.status.partitions = partitions

    # ---- readers (Dash threads) ----------------------------------------------------

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def symbols(self) -> list[str]:
        """Every symbol with price points or signals, sorted."""
        with self._lock:
            syms = set(self._series)
            syms.update(r["symbol"] for r in self._records.values())
        return sorted(syms)

    def prices(self, symbol: str) -> tuple[list[int], list[float]]:
        """Copies of the kept (ts, price) points of one symbol, oldest first."""
        with self._lock:
            s = self._series.get(symbol)
            if s is None:
                return [], []
            return list(s.ts), list(s.price)

    def symbol_version(self, symbol: str) -> int:
        with self._lock:
            s = self._series.get(symbol)
            return 0 if s is None else s.version

    def signals(self, symbol: str | None = None, limit: int | None = None) -> list[SignalRow]:
        """Signals (newest first by event time), optionally of one symbol."""
        out: list[SignalRow] = []
        with self._lock:
            for _, sid in reversed(self._order):
                r = self._records[sid]
                if symbol is not None and r["symbol"] != symbol:
                    continue
                out.append(SignalRow(sid, r["symbol"], r["ts"], r["price"], r["direction"], r["score"],
                                     r["threshold"]))
                if limit is not None and len(out) >= limit:
                    break
        return out

    def record(self, signal_id: str | None) -> dict | None:
        """The archive record of one signal (a shallow copy) or None."""
        if not signal_id:
            return None
        with self._lock:
            rec = self._records.get(signal_id)
            return None if rec is None else dict(rec)

    def newest_signal_id(self, symbol: str | None = None) -> str | None:
        rows = self.signals(symbol, limit=1)
        return rows[0].signal_id if rows else None

    def n_records(self) -> int:
        with self._lock:
            return len(self._records)

    def snapshot_status(self) -> tuple[FeedStatus, dict]:
        with self._lock:
            st = FeedStatus(self.status.state, self.status.detail, self.status.partitions, self.status.since)
            return st, dict(self.counters)


class KafkaFeed(threading.Thread):
    """Background thread: every partition of ``topics`` from the beginning into a Store.

    No consumer group and no commits: each dashboard process reads everything.
    Positions are remembered across reconnects, and the store is idempotent,
    so a reconnect never shows a signal twice.
    """

    def __init__(self, store: Store, kafka_config: dict, topic_ticks: str, topic_explanations: str,
                 refresh_s: float = 2.0, retry_s: float = 2.0, poll_ms: int = 200, connect_timeout_ms: int = 5000):
        super().__init__(name="tickscope-dashboard-feed", daemon=True)
        self.store = store
        self.kafka_config = dict(kafka_config)
        self.topic_ticks = topic_ticks
        self.topic_explanations = topic_explanations
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
        )

    def _refresh_assignment(self, consumer) -> None:
        from kafka import TopicPartition

        existing = consumer.topics()  # forces a metadata fetch
        wanted = set()
        for topic in (self.topic_ticks, self.topic_explanations):
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
        missing = [t for t in (self.topic_ticks, self.topic_explanations) if t not in existing]
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
                for m in msgs:
                    if tp.topic == self.topic_ticks:
                        self.store.add_tick_raw(m.value, m.key)
                    else:
                        self.store.add_record_raw(m.value)
                if msgs:
                    self._positions[tp] = msgs[-1].offset + 1
