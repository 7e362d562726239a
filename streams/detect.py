"""Stage ``detect``: ingest -> features -> score -> gate over a micro-batch of raw tick messages.

``SignalDetector.process`` takes raw messages and returns what to publish:
dead letters for rejected input and Signals for significant decisions. It
holds per-symbol ring buffers (``tickscope.features.history``) but touches no
Kafka, so it is tested directly; the detect agent only moves its records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from tickscope.contracts.dead_letters import Source
from tickscope.contracts.ids import signal_id_for
from tickscope.contracts.records import DeadLetter, Signal, Tick
from tickscope.features.history import Admission, SymbolHistory, advance
from tickscope.features.window import rows_from_price_windows
from tickscope.streams import gate, ingest, score
from tickscope.streams.state import WindowStore

STAGE_ID = "detect"
CANDIDATE_MARGIN = 1e-3  # relative: batch-vs-single score differences are ~1e-7, far inside this


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


class SignalDetector:
    """Per-symbol windows plus the model: raw tick messages in, significant signals out."""

    def __init__(self, model, cooldown_ticks: int, max_message_bytes: int, store: WindowStore | None = None):
        self.model = model
        self.cooldown_ticks = cooldown_ticks
        self.max_message_bytes = max_message_bytes
        self.store = store if store is not None else WindowStore(lambda partition: ())

    @property
    def histories(self) -> dict[str, SymbolHistory]:
        return self.store.histories

    def process(self, messages: list[Message], now_ms: int) -> BatchOutcome:
        out = BatchOutcome()
        admitted: list[tuple[Tick, Message, tuple]] = []
        for msg in messages:
            self.store.ensure(msg.source.partition, msg.source.offset)
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
        history = self.store.get(tick.symbol, source.partition)
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
        near = self.model.threshold * (1.0 - CANDIDATE_MARGIN)
        for (tick, window, msg), batch_value in zip(ready, scores):
            history = self.histories[tick.symbol]
            value = score.score_one(self.model.net, window) if abs(batch_value) > near else float(batch_value)
            direction = gate.significance(value, self.model.threshold, history.cooldown)
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
            threshold=self.model.threshold,
            direction=direction,
            feature_names=self.model.feature_names,
            window=window.astype(float).tolist(),
            scored_at=now_ms,
        )
