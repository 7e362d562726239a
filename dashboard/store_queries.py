"""The dashboard store's read side: what the views and the push stream ask of it (Dash and page threads).

Every read takes the store's one lock and returns copies; incremental reads
(``prices_since``, ``signals_since``) give a browser only what came after the
cursor it holds. ``StoreQueries`` is mixed into ``live_store.Store``, which owns
the state and the writers.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field


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


class StoreQueries:
    """Readers of ``live_store.Store`` (its attributes: the lock, series, records, alerts, counters)."""

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    @property
    def records_version(self) -> int:
        """Changes only when a record is added (not on ticks)."""
        with self._lock:
            return self._records_version

    @property
    def alerts_version(self) -> int:
        with self._lock:
            return self._alerts_version

    def symbols(self) -> list[str]:
        """Every symbol with price points or signals, sorted."""
        with self._lock:
            syms = set(self._series)
            syms.update(self._record_symbols)
        return sorted(syms)

    @property
    def symbols_version(self) -> int:
        """Changes whenever ``symbols()`` would (cheap: for a stream deciding whether to resend the list)."""
        with self._lock:
            return self._symbols_version

    def prices(self, symbol: str) -> tuple[list[int], list[float]]:
        """Copies of the kept (ts, price) points of one symbol, oldest first."""
        with self._lock:
            s = self._series.get(symbol)
            if s is None:
                return [], []
            return list(s.ts), list(s.price)

    def prices_since(self, symbol: str, seen: int) -> tuple[list[int], list[float], int, bool]:
        """Points appended after the first ``seen`` ones: (ts, prices, total, ok).

        ``ok`` is False when the caller cannot be brought up to date by appending
        (it is behind by more than the kept points, or ahead: a different store).
        """
        with self._lock:
            s = self._series.get(symbol)
            if s is None:
                return [], [], 0, seen == 0
            new = s.total - seen
            if new < 0 or new > len(s.ts):
                return [], [], s.total, False
            if new == 0:
                return [], [], s.total, True
            n = len(s.ts)
            return ([s.ts[i] for i in range(n - new, n)], [s.price[i] for i in range(n - new, n)], s.total, True)

    def price_snapshot(self, symbol: str) -> tuple[list[int], list[float], int]:
        """Copies of the kept points plus the total ever appended, read atomically."""
        with self._lock:
            s = self._series.get(symbol)
            if s is None:
                return [], [], 0
            return list(s.ts), list(s.price), s.total

    @property
    def arrival_seq(self) -> int:
        with self._lock:
            return self._arrival_seq

    def signals_since(self, symbol: str | None, seq: int) -> tuple[list[SignalRow], int]:
        """Signals (of ``symbol``, or all) that arrived after arrival number ``seq``, in arrival order."""
        out: list[SignalRow] = []
        with self._lock:
            i = bisect.bisect_right(self._arrivals, (seq, "\uffff"))
            for _, sid, sym in self._arrivals[i:]:
                r = self._records.get(sid)
                if r is None or (symbol is not None and sym != symbol):
                    continue
                out.append(SignalRow(sid, r["symbol"], r["ts"], r["price"], r["direction"], r["score"],
                                     r["threshold"]))
            return out, self._arrival_seq

    def records(self, symbol: str | None = None) -> list[dict]:
        """The kept records (shallow copies), oldest first by event time, optionally of one symbol."""
        with self._lock:
            recs = (self._records[sid] for _, sid in self._order)
            return [dict(r) for r in recs if symbol is None or r["symbol"] == symbol]

    def alerts(self) -> list[dict]:
        """Kept alerts, newest raised first."""
        with self._lock:
            out = [dict(a) for a in self._alerts.values()]
        out.sort(key=lambda a: (a["raised_at"], a["started_at"], a["alert_id"]), reverse=True)
        return out

    def n_alerts(self) -> int:
        with self._lock:
            return len(self._alerts)

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


