"""Stage ``detect``: a whole batch of raw tick messages -> dead letters and significant signals, in columns.

Per batch (docs/streaming.md): decode and check every message
(``ingest_batch``); per symbol, skip ticks its saved state already includes
(offset <= ``applied``: replayed after a restart) and drop duplicates (same ts
as the last accepted tick) and out-of-order ticks (older); append the accepted
ticks to the symbols' rings (``SymbolWindows``); compute every new feature row
with one call of the shared feature function; score every full window in one
forward pass; gate (``gate``). All of it is numpy over the batch, except the
few candidates near the threshold, which are scored alone: the decisive and
archived score is the window scored alone, so decisions do not depend on how
ticks were batched, and a replay reproduces it bit for bit.

The per-symbol rules run on a stable sort by symbol, with running maxima
inside each symbol's segment (``_running_max``), so the result equals
applying the ticks one by one in arrival order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from tickscope.contracts.dead_letters import Source, dead_letter
from tickscope.contracts.records import DeadLetter, Signal
from tickscope.contracts.times import now_ms as wall_clock_ms
from tickscope.streams import score
from tickscope.streams.gate import gate_windows
from tickscope.streams.ingest import MIN_TS_MS
from tickscope.streams.ingest import STAGE_ID as INGEST
from tickscope.streams.ingest_batch import BatchDecoder, Columns
from tickscope.streams.symbol_windows import NO_TS, SymbolWindows

STAGE_ID = "detect"
SCORE_CHUNK = 1024  # windows per forward pass: the cheapest size per window on a CPU (bench model)
_SEG = 1 << 41  # segment stride of the running maxima: offsets and shifted ts stay below it


class Message(NamedTuple):
    """One raw message of ``ticks`` (offline runs build batches of these)."""

    key: bytes | None
    value: bytes | None
    partition: int
    offset: int


@dataclass(frozen=True)
class Batch:
    """Raw messages of one fetch, in the order read (several partitions may interleave)."""

    values: list
    keys: list
    offsets: np.ndarray  # int64
    partitions: np.ndarray  # int64
    topic: str
    arrived_at: float = 0.0  # time.monotonic() when read

    @classmethod
    def of(cls, messages: list[Message], topic: str = "ticks", arrived_at: float = 0.0) -> "Batch":
        return cls([m.value for m in messages], [m.key for m in messages],
                   np.fromiter((m.offset for m in messages), np.int64, len(messages)),
                   np.fromiter((m.partition for m in messages), np.int64, len(messages)), topic, arrived_at)


@dataclass
class BatchOutcome:
    signals: list[Signal] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    accepted: int = 0
    dropped: Counter = field(default_factory=Counter)  # "duplicate" / "out_of_order" -> count
    scored: int = 0
    replayed: int = 0  # ticks skipped because their symbol's saved state already includes them
    changed: set[str] = field(default_factory=set)  # symbols whose state moved: to write to the changelog


class SignalDetector:
    """Per-symbol windows plus the model: raw tick batches in, significant signals out.

    The windows follow the model's spec (its window length T and feature function); ``cooldown_ticks``
    None takes the spec's cooldown."""

    def __init__(self, model, cooldown_ticks: int | None, max_message_bytes: int, max_array_bytes: int | None = None,
                 capacity: int = 100_000):
        self.model = model
        self.cooldown_ticks = model.cooldown if cooldown_ticks is None else cooldown_ticks
        self.decoder = BatchDecoder(max_message_bytes, max_array_bytes or max_message_bytes)
        self.windows = SymbolWindows(capacity, model.features, model.window_t)

    def process(self, batch: Batch, now_ms: int) -> BatchOutcome:
        """``now_ms`` stamps the signals' ``scored_at``; a tick's ts is checked against the wall clock."""
        out = BatchOutcome()
        cols = self.decoder.decode(batch.values, batch.keys, wall_clock_ms())
        out.dead_letters = [self._letter(batch, i, exc) for i, _, exc in cols.rejects]
        if not cols.symbol:
            return out
        rows = self.windows.rows_of(cols.symbol)
        order = np.argsort(rows, kind="stable")  # by symbol, arrival order inside
        live = self._replay_rule(batch, cols, rows, order, out)
        accepted = self._ordering_rule(cols, rows, order, live, out)
        if len(accepted):
            self._append_and_score(cols, rows, accepted, now_ms, batch.arrived_at, out)
        return out

    def _letter(self, batch: Batch, i: int, exc) -> DeadLetter:
        where = Source(batch.topic, int(batch.partitions[i]), int(batch.offsets[i]))
        return dead_letter(INGEST, batch.values[i], batch.keys[i], exc, where)

    def _replay_rule(self, batch: Batch, cols: Columns, rows, order, out: BatchOutcome) -> np.ndarray:
        """Positions (in symbol order) of ticks not already in their symbol's saved state; moves ``applied``."""
        w = self.windows
        ss = rows[order]
        offsets = batch.offsets[cols.msg][order]
        before, after = _running_max(ss, offsets, w.applied[ss])
        same_message = np.zeros(len(ss), dtype=bool)  # ticks of one message share its offset
        same_message[1:] = (cols.msg[order][1:] == cols.msg[order][:-1]) & (ss[1:] == ss[:-1])
        first_of_message = np.maximum.accumulate(np.where(same_message, 0, np.arange(len(ss))))
        live = offsets > before[first_of_message]
        out.replayed = int((~live).sum())
        ends = _segment_ends(ss)
        w.applied[ss[ends]] = np.maximum(w.applied[ss[ends]], after[ends])
        w.partition[ss] = batch.partitions[cols.msg][order]
        out.changed.update(w.names[r] for r in np.unique(ss[live]).tolist())
        return np.flatnonzero(live)

    def _ordering_rule(self, cols: Columns, rows, order, live, out: BatchOutcome) -> np.ndarray:
        """Indices (into ``cols``) of accepted ticks, arrival order; duplicates / older ticks dropped."""
        w = self.windows
        ls = rows[order][live]
        ts = cols.ts[order][live] - MIN_TS_MS
        last = np.where(w.last_ts[ls] == NO_TS, -1, w.last_ts[ls] - MIN_TS_MS)
        before, after = _running_max(ls, ts, last)
        dup, older = ts == before, ts < before
        out.dropped.update({k: int(v.sum()) for k, v in (("duplicate", dup), ("out_of_order", older)) if v.any()})
        ends = _segment_ends(ls)
        w.last_ts[ls[ends]] = after[ends] + MIN_TS_MS
        accepted = np.sort(order[live][~(dup | older)])  # back to arrival order
        out.accepted = len(accepted)
        return accepted

    def _append_and_score(self, cols: Columns, rows, accepted, now_ms: int, arrived_at: float,
                          out: BatchOutcome) -> None:
        w = self.windows
        a_rows = rows[accepted]
        prices, sizes, has_row = _append(w, a_rows, cols.price[accepted], cols.size[accepted])
        feature_rows = w.rows_fn(prices, sizes)  # one call for every new row of the batch
        r_ticks = accepted[has_row]
        if not len(r_ticks):
            return
        windows, ready = _push_rows(w, rows[r_ticks], feature_rows)
        if not len(windows):
            return
        w_ticks = r_ticks[ready]
        scores = np.concatenate([score.prefilter_scores(self.model.net, windows[i:i + SCORE_CHUNK])
                                 for i in range(0, len(windows), SCORE_CHUNK)])
        out.scored = len(windows)
        for k, value, direction in gate_windows(self.model, w, rows[w_ticks], windows, scores, self.cooldown_ticks):
            t = int(w_ticks[k])
            out.signals.append(_signal(self.model, cols.symbol[t], int(cols.ts[t]), float(cols.price[t]),
                                       windows[k], value, direction, now_ms))


def _signal(model, symbol: str, ts: int, price: float, window, value: float, direction: str, now_ms: int) -> Signal:
    from tickscope.contracts.ids import signal_id_for

    return Signal(signal_id=signal_id_for(symbol, ts, model.version), symbol=symbol, ts=ts, price=price,
                  model_version=model.version, score=value, threshold=model.signal_threshold(direction),
                  direction=direction,
                  feature_names=model.feature_names, window=window.astype(float).tolist(), scored_at=now_ms)


def _segment_ends(sorted_keys: np.ndarray) -> np.ndarray:
    ends = np.ones(len(sorted_keys), dtype=bool)
    ends[:-1] = sorted_keys[1:] != sorted_keys[:-1]
    return ends


def _running_max(keys: np.ndarray, values: np.ndarray, init: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inside each run of equal ``keys``: (max of ``init`` and the earlier values, max including this value).

    ``values`` and ``init`` lie in [-1, 2^41 - 1); the key times 2^41 orders the runs, so one cumulative
    maximum over the whole array never crosses from one symbol's run into the next."""
    if not len(keys):
        return values, values
    stride = keys * _SEG
    inclusive = np.maximum.accumulate(stride + (np.maximum(values, init) + 1)) - stride - 1
    before = np.empty_like(inclusive)
    before[0] = -1
    before[1:] = inclusive[:-1]
    starts = np.ones(len(keys), dtype=bool)
    starts[1:] = keys[1:] != keys[:-1]
    before[starts] = -1
    return np.maximum(before, init), inclusive


def _segments(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unique keys, run number of each element, rank of each element inside its run) of a sorted array."""
    starts = np.ones(len(sorted_keys), dtype=bool)
    starts[1:] = sorted_keys[1:] != sorted_keys[:-1]
    run = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    return sorted_keys[starts], run, np.arange(len(sorted_keys)) - first[run]


def _append(w: SymbolWindows, a_rows: np.ndarray, price: np.ndarray, size: np.ndarray):
    """Append accepted ticks (arrival order) to their rings; each tick's trailing row_span prices and sizes."""
    history, row_span = w.history, w.row_span
    order = np.argsort(a_rows, kind="stable")
    uniq, run, rank = _segments(a_rows[order])
    counts = np.bincount(run)
    base = np.concatenate([[0], np.cumsum(history + counts)[:-1]])  # [saved history | new ticks] per symbol
    flat_p, flat_s = np.empty(int(base[-1] + history + counts[-1])), np.empty(int(base[-1] + history + counts[-1]))
    saved = base[:, None] + np.arange(history)
    flat_p[saved], flat_s[saved] = w.prices[uniq], w.sizes[uniq]
    pos = base[run] + history + rank
    flat_p[pos], flat_s[pos] = price[order], size[order]
    has_row = np.minimum(w.n_prices[a_rows[order]], history) + rank + 1 >= row_span
    span = pos[has_row][:, None] + np.arange(-(row_span - 1), 1)
    tail = (base + history + counts)[:, None] + np.arange(-history, 0)
    w.prices[uniq], w.sizes[uniq] = flat_p[tail], flat_s[tail]
    w.n_prices[uniq] = np.minimum(history, w.n_prices[uniq] + counts)
    keep = np.zeros(len(a_rows), dtype=bool)
    keep[order[has_row]] = True  # which ticks (arrival order) have a feature row
    arrival = np.argsort(order[has_row], kind="stable")  # their trailing spans, back to arrival order
    return flat_p[span][arrival], flat_s[span][arrival], keep


def _push_rows(w: SymbolWindows, r_rows: np.ndarray, new_rows: np.ndarray):
    """Push feature rows (arrival order) into the symbols' row rings; the [T, F] windows that are now full."""
    t = w.window_t
    order = np.argsort(r_rows, kind="stable")
    uniq, run, rank = _segments(r_rows[order])
    counts = np.bincount(run)
    base = np.concatenate([[0], np.cumsum(t + counts)[:-1]])
    flat = np.empty((int(base[-1] + t + counts[-1]), new_rows.shape[1]), dtype=np.float32)
    flat[base[:, None] + np.arange(t)] = w.rows[uniq]
    pos = base[run] + t + rank
    flat[pos] = new_rows[order]
    full = w.n_rows[r_rows[order]] + rank + 1 >= t
    windows_sorted = flat[pos[full][:, None] + np.arange(-(t - 1), 1)]
    w.rows[uniq] = flat[(base + t + counts)[:, None] + np.arange(-t, 0)]
    w.n_rows[uniq] = np.minimum(t, w.n_rows[uniq] + counts)
    ready = np.zeros(len(r_rows), dtype=bool)
    ready[order[full]] = True
    arrival = np.argsort(order[full], kind="stable")  # windows back to arrival order
    return windows_sorted[arrival], ready
