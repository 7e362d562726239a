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

- Alerts: validated as ``Alert``; de-duplicated by ``alert_id`` (first copy
  wins), at most ``max_alerts`` kept (oldest raised first out).

Incremental reads for the live views: every symbol counts the points ever
appended (``total``) and every record gets an arrival sequence number, so a
browser that remembers "I have everything up to N" receives only what came
after (``prices_since``, ``signals_since``) and the chart is extended with
``extendData`` instead of being re-sent.

Every raw message goes through ``tickscope.contracts.dead_letters.isolate``
around a pure decode (``tickscope.dashboard.decode``): a message that raises
anything at all is counted by reason (status counters and the
``tickscope_dashboard_rejected_total`` metric), its last few dead letters are
kept for the status route, and the store is left exactly as it was.

Memory is bounded: at most ``max_symbols`` symbols keep price points; the
least recently seen one is evicted first (counted in ``symbols_evicted``).

Readers that wait for news (one stream per browser page) ``subscribe`` a
callable; the topic reader calls ``notify`` once per batch it applied, so all
pages are fed from the one consumer.

``tickscope.dashboard.topic_reader.KafkaFeed`` fills the store.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from tickscope import metrics
from tickscope.contracts.dead_letters import Source, isolate
from tickscope.contracts.records import DeadLetter
from tickscope.dashboard import decode
from tickscope.dashboard.store_queries import FeedStatus, StoreQueries

log = logging.getLogger(__name__)

DEFAULT_MAX_RECORDS = 10_000
DEFAULT_MAX_ALERTS = 2_000
DEFAULT_MAX_SYMBOLS = 1_000
KEPT_DEAD_LETTERS = 20  # the newest rejections, for the status route
NO_SOURCE = Source("", -1, -1)
KINDS = ("ticks", "records", "alerts")


@dataclass
class _Series:
    ts: deque
    price: deque
    version: int = 0
    total: int = 0  # points ever appended (the deque keeps the newest max_points of them)


class Store(StoreQueries):
    """Thread-safe per-symbol price points plus de-duplicated archive records."""

    def __init__(self, max_points: int = 100_000, max_records: int = DEFAULT_MAX_RECORDS,
                 max_tick_bytes: int = 4096, max_alerts: int = DEFAULT_MAX_ALERTS,
                 max_symbols: int = DEFAULT_MAX_SYMBOLS):
        if max_points < 1 or max_records < 1 or max_symbols < 1:
            raise ValueError("max_points, max_records and max_symbols must be >= 1")
        self.max_points = max_points
        self.max_records = max_records
        self.max_tick_bytes = max_tick_bytes
        self.max_symbols = max_symbols
        self.uid = uuid.uuid4().hex[:12]  # tells a browser's cursor from another process's
        self._lock = threading.Lock()
        self._series: OrderedDict[str, _Series] = OrderedDict()  # least recently seen first
        self._records: dict[str, dict] = {}  # signal_id -> record dict (ArchiveRecord.model_dump())
        self._order: list[tuple[int, str]] = []  # (ts, signal_id) sorted ascending
        self._version = 0
        self._records_version = 0
        self._arrivals: list[tuple[int, str, str]] = []  # (arrival seq, signal_id, symbol), ascending
        self._arrival_seq = 0
        self.max_alerts = max_alerts
        self._alerts: dict[str, dict] = {}  # alert_id -> Alert.model_dump(), insertion = arrival order
        self._alerts_version = 0
        self.counters: Counter = Counter()
        self.status = FeedStatus()
        self.dead_letters: deque[DeadLetter] = deque(maxlen=KEPT_DEAD_LETTERS)
        self._record_symbols: Counter = Counter()  # symbol -> kept records of it
        self._symbols_version = 0  # changes when the set of symbols does
        self._subscribers: dict[int, Callable[[], None]] = {}
        self._next_subscriber = 0

    # ---- news for waiting readers --------------------------------------------------

    def subscribe(self, wake: Callable[[], None]) -> int:
        """Call ``wake()`` (from the reader thread: it must be quick and thread-safe) after each applied batch."""
        with self._lock:
            self._next_subscriber += 1
            self._subscribers[self._next_subscriber] = wake
            return self._next_subscriber

    def unsubscribe(self, key: int) -> None:
        with self._lock:
            self._subscribers.pop(key, None)

    def n_subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def notify(self) -> None:
        with self._lock:
            wakers = list(self._subscribers.values())
        for wake in wakers:
            try:
                wake()
            except RuntimeError:  # the page's event loop has closed; it unsubscribes when its task ends
                pass

    # ---- writers (consumer thread) -------------------------------------------------

    def add_raw(self, kind: str, raw: bytes | None, key: bytes | None = None, source: Source = NO_SOURCE) -> bool:
        """Decode one message of ``kind`` (ticks, records, alerts) inside ``isolate`` and apply it.

        True if it changed the store. A rejection is counted and kept, and changes nothing else.
        """
        decoders = {"ticks": lambda v, k: decode.decode_tick(v, k, self.max_tick_bytes),
                    "records": decode.decode_record, "alerts": decode.decode_alert}
        out = isolate(decode.STAGE_ID, raw, key, source, decoders[kind])
        if isinstance(out, DeadLetter):
            self._rejected(kind, out)
            return False
        if kind == "ticks":
            return self.add_point(out.symbol, out.ts, out.price)
        return self.add_record(out) if kind == "records" else self.add_alert(out)

    def _rejected(self, kind: str, dead: DeadLetter) -> None:
        with self._lock:
            self.counters[f"{kind}_rejected"] += 1
            self.counters[f"{kind}_rejected_{dead.reason}"] += 1
            self.dead_letters.append(dead)
        metrics.DASHBOARD_REJECTED.labels(kind, dead.reason).inc()
        log.debug("dashboard: rejected %s at %s/%d@%d: %s", kind, dead.source_topic, dead.source_partition,
                  dead.source_offset, dead.detail)

    def add_tick_raw(self, raw: bytes | None, key: bytes | None) -> bool:
        """Validate one raw ``ticks`` message; keep it if valid. Returns True if kept."""
        return self.add_raw("ticks", raw, key)

    def add_point(self, symbol: str, ts: int, price: float) -> bool:
        with self._lock:
            s = self._series.get(symbol)
            if s is None:
                s = self._series[symbol] = _Series(deque(maxlen=self.max_points), deque(maxlen=self.max_points))
                self._symbols_version += 1
                self._evict_symbols()
            self._series.move_to_end(symbol)
            if s.ts and ts <= s.ts[-1]:
                self.counters["ticks_stale"] += 1
                return False
            s.ts.append(int(ts))
            s.price.append(float(price))
            s.version += 1
            s.total += 1
            self._version += 1
            self.counters["ticks"] += 1
            return True

    def _evict_symbols(self) -> None:
        """Drop the least recently seen symbols beyond ``max_symbols`` (caller holds the lock)."""
        while len(self._series) > self.max_symbols:
            self._series.popitem(last=False)
            self._symbols_version += 1
            self.counters["symbols_evicted"] += 1
            self._version += 1
            metrics.DASHBOARD_SYMBOLS_EVICTED.inc()

    def add_record_raw(self, raw: bytes | None) -> bool:
        """Validate one raw ``explanations`` message; keep it unless invalid or a duplicate."""
        return self.add_raw("records", raw, None)

    def add_record(self, rec: dict) -> bool:
        sid = rec["signal_id"]
        with self._lock:
            if sid in self._records:
                self.counters["records_duplicate"] += 1
                return False
            self._records[sid] = rec
            self._count_symbol(rec["symbol"], +1)
            bisect.insort(self._order, (int(rec["ts"]), sid))
            self._arrival_seq += 1
            self._arrivals.append((self._arrival_seq, sid, rec["symbol"]))
            while len(self._order) > self.max_records:
                _, old = self._order.pop(0)
                self._count_symbol(self._records.pop(old)["symbol"], -1)
                self.counters["records_evicted"] += 1
            if len(self._arrivals) > 2 * self.max_records:  # drop arrivals of evicted records
                self._arrivals = [a for a in self._arrivals if a[1] in self._records]
            self._version += 1
            self._records_version += 1
            self.counters["records"] += 1
            return True

    def _count_symbol(self, symbol: str, step: int) -> None:
        """Keep ``_record_symbols`` (caller holds the lock); a symbol appearing or vanishing changes the set."""
        self._record_symbols[symbol] += step
        if self._record_symbols[symbol] <= 0:
            del self._record_symbols[symbol]
            self._symbols_version += 1
        elif step > 0 and self._record_symbols[symbol] == 1:
            self._symbols_version += 1

    def add_alert_raw(self, raw: bytes | None) -> bool:
        """Validate one raw ``alerts`` message; keep it unless invalid or a duplicate ``alert_id``."""
        return self.add_raw("alerts", raw, None)

    def add_alert(self, alert: dict) -> bool:
        aid = alert["alert_id"]
        with self._lock:
            if aid in self._alerts:
                self.counters["alerts_duplicate"] += 1
                return False
            self._alerts[aid] = alert
            while len(self._alerts) > self.max_alerts:
                oldest = min(self._alerts, key=lambda k: (self._alerts[k]["raised_at"], self._alerts[k]["started_at"]))
                del self._alerts[oldest]
            self._alerts_version += 1
            self.counters["alerts"] += 1
            return True

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] += n

    def set_status(self, state: str, detail: str = "", partitions: int | None = None) -> None:
        with self._lock:
            if state != self.status.state:
                self.status.since = time.time()
            self.status.state = state
            self.status.detail = detail
            if partitions is not None:
                self.status.partitions = partitions
