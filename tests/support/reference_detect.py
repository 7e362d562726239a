"""The detect stage as it was written tick by tick: the oracle the columnar stage must equal.

``ReferenceDetector.process`` applies each message in arrival order: ingest, the
replay rule (offset <= the symbol's applied offset), the ordering rule
(``advance``: duplicate / out of order), the symbol's ring buffer, its feature
row, and the gate on the window scored alone near the threshold. The columnar
``tickscope.streams.detect.SignalDetector`` must give the same signals, dead
letters, drops and state on the same messages (tests/unit/streams/test_detect.py).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from enum import Enum
from itertools import islice

import numpy as np

from tickscope.contracts.dead_letters import Source
from tickscope.contracts.ids import signal_id_for
from tickscope.contracts.records import DeadLetter, Signal, Tick
from tickscope.features.window import HISTORY, ROW_SPAN, WINDOW_T, feature_rows, rows_from_price_windows
from tickscope.streams import gate, ingest, score


class Admission(str, Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out_of_order"


@dataclass
class SymbolHistory:
    """Ring buffer of one symbol's last HISTORY ticks (event time)."""

    last_ts: int | None = None
    prices: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    sizes: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    cooldown: int = 0  # ticks left before this symbol may signal again
    applied_offset: int = -1  # offset (in its ticks partition) of the last message applied
    rows: deque = field(default_factory=lambda: deque(maxlen=WINDOW_T))  # derived: last feature rows

    def to_dict(self) -> dict:
        sizes = [None if s != s else s for s in self.sizes]  # NaN (unknown size) is not JSON: null
        return {"last_ts": self.last_ts, "prices": list(self.prices), "sizes": sizes,
                "cooldown": self.cooldown, "applied_offset": self.applied_offset}

    @classmethod
    def from_dict(cls, d: dict) -> "SymbolHistory":
        h = cls(last_ts=d.get("last_ts"), cooldown=int(d.get("cooldown", 0)),
                applied_offset=int(d.get("applied_offset", -1)))
        h.prices.extend(d.get("prices", []))
        h.sizes.extend(float("nan") if s is None else s for s in d.get("sizes", []))
        h.rows.extend(feature_rows(np.array(h.prices, dtype=np.float64), np.array(h.sizes, dtype=np.float64)))
        return h

    def row_inputs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The trailing prices and sizes of the newest tick's feature row, if it has one."""
        if len(self.prices) < ROW_SPAN:
            return None
        start = len(self.prices) - ROW_SPAN
        return (np.fromiter(islice(self.prices, start, None), dtype=np.float64, count=ROW_SPAN),
                np.fromiter(islice(self.sizes, start, None), dtype=np.float64, count=ROW_SPAN))

    def push_row(self, row: np.ndarray) -> np.ndarray | None:
        """Append the newest tick's feature row; the [T, F] window once T rows exist."""
        self.rows.append(row)
        return np.stack(self.rows) if len(self.rows) == WINDOW_T else None


def advance(history: SymbolHistory, ts: int, price: float, size: float | None) -> Admission:
    """Append one tick if it is newer than the last one seen for its symbol.

    Rule: same ts as the last accepted tick -> DUPLICATE (dropped, counted);
    older ts -> OUT_OF_ORDER (dropped, counted). Missing size counts as NaN,
    which ``size_z`` turns into 0.
    """
    if history.last_ts is not None:
        if ts == history.last_ts:
            return Admission.DUPLICATE
        if ts < history.last_ts:
            return Admission.OUT_OF_ORDER
    history.last_ts = ts
    history.prices.append(float(price))
    history.sizes.append(float("nan") if size is None else float(size))
    return Admission.ACCEPTED


@dataclass(frozen=True)
class Message:
    key: bytes | None
    value: bytes | None
    source: Source
    arrived_at: float = 0.0  # time.monotonic() when the worker read it


@dataclass
class BatchOutcome:
    signals: list[Signal] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    accepted: int = 0
    dropped: Counter = field(default_factory=Counter)  # Admission value -> count
    scored: int = 0
    replayed: int = 0  # ticks skipped because their symbol's state already includes them
    arrivals: dict = field(default_factory=dict)  # signal_id -> arrived_at
    changed: dict = field(default_factory=dict)  # symbol -> ticks partition, state to write back


class ReferenceDetector:
    """Per-symbol windows plus the model: raw tick messages in, significant signals out."""

    def __init__(self, model, cooldown_ticks: int, max_message_bytes: int):
        self.model = model
        self.cooldown_ticks = cooldown_ticks
        self.max_message_bytes = max_message_bytes
        self.histories: dict[str, SymbolHistory] = {}

    def process(self, messages: list[Message], now_ms: int) -> BatchOutcome:
        out = BatchOutcome()
        admitted: list[tuple[Tick, Message, tuple]] = []
        for msg in messages:
            result = ingest.ingest(msg.value, msg.key, msg.source, self.max_message_bytes)
            if isinstance(result, DeadLetter):
                out.dead_letters.append(result)
                continue
            row_inputs = self._admit(result, msg.source, out)
            if row_inputs is not None:
                admitted.append((result, msg, row_inputs))
        self._score_and_gate(self._windows(admitted), out, now_ms)
        return out

    def _windows(self, admitted: list) -> list[tuple[Tick, np.ndarray, Message]]:
        """Feature rows for every admitted tick in one vectorised call, then each tick's window."""
        if not admitted:
            return []
        prices = np.stack([inputs[0] for _, _, inputs in admitted])
        sizes = np.stack([inputs[1] for _, _, inputs in admitted])
        rows = rows_from_price_windows(prices, sizes)
        ready = []
        for (tick, msg, _), row in zip(admitted, rows):  # in arrival order: a symbol's rows stay in order
            window = self.histories[tick.symbol].push_row(row)
            if window is not None:
                ready.append((tick, window, msg))
        return ready

    def _admit(self, tick: Tick, source: Source, out: BatchOutcome) -> tuple | None:
        history = self.histories.setdefault(tick.symbol, SymbolHistory())
        if source.offset <= history.applied_offset:
            out.replayed += 1  # already in the saved state, and its signals were acked before it was saved
            return None
        history.applied_offset = source.offset
        out.changed[tick.symbol] = source.partition
        admission = advance(history, tick.ts, tick.price, tick.size)
        if admission is not Admission.ACCEPTED:
            out.dropped[admission.value] += 1
            return None
        out.accepted += 1
        return history.row_inputs()

    def _score_and_gate(self, ready: list, out: BatchOutcome, now_ms: int) -> None:
        """Batch scores pre-filter; a candidate is re-scored alone and gated on that score,
        so decisions and archived scores do not depend on micro-batch composition."""
        if not ready:
            return
        scores, _ = score.score_windows(self.model.net, np.stack([w for _, w, _ in ready]))
        out.scored = len(ready)
        near = set(gate.near_either_threshold(scores, self.model.thresholds).tolist())
        for k, ((tick, window, msg), batch_value) in enumerate(zip(ready, scores)):
            history = self.histories[tick.symbol]
            value = score.score_one(self.model.net, window) if k in near else float(batch_value)
            direction = gate.significance(value, self.model.thresholds, history.cooldown)
            history.cooldown = gate.next_cooldown(history.cooldown, direction is not None, self.cooldown_ticks)
            if direction is not None:
                sig = self._signal(tick, window, value, direction, now_ms)
                out.signals.append(sig)
                out.arrivals[sig.signal_id] = msg.arrived_at

    def _signal(self, tick: Tick, window: np.ndarray, value: float, direction: str, now_ms: int) -> Signal:
        return Signal(
            signal_id=signal_id_for(tick.symbol, tick.ts, self.model.version),
            symbol=tick.symbol,
            ts=tick.ts,
            price=tick.price,
            model_version=self.model.version,
            score=value,
            threshold=self.model.signal_threshold(direction),
            direction=direction,
            feature_names=self.model.feature_names,
            window=window.astype(float).tolist(),
            scored_at=now_ms,
        )
