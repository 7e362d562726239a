"""Per-symbol feature windows: one pure function shared by training and the worker.

Why one function: the model must see exactly the numbers it was trained on
(no train/serve skew). ``window_from_history`` turns the last ``HISTORY``
ticks of one symbol into the [T][F] model input; training calls it on every
slice of a historical series, the worker on its per-symbol ring buffer.

Features are scale-free, so one model serves EURUSD (moves of 1e-4) and
BTCUSD (moves of 1e-2) alike. With r_i = log(p_i / p_{i-1}) and
vol_i = RMS(r_{i-31..i}) (per-tick volatility, in log-return units):

- ``ret_z``     r_i / vol_i
- ``mom_8``     sum(r_{i-7..i}) / (vol_i * sqrt 8)
- ``mom_32``    sum(r_{i-31..i}) / (vol_i * sqrt 32)
- ``vol_ratio`` log(RMS(r_{i-7..i}) / vol_i)
- ``range_8``   (max - min of log p over i-7..i) / (vol_i * sqrt 8)
- ``size_z``    z-score of log1p(size_i) over the last 32 sizes (0 without sizes)

Every value is clipped to +-``CLIP`` and any NaN/inf becomes 0, so no
non-finite number ever reaches the model.

Gap rule: features run in event time (tick order), not wall time. Gaps in
wall time (weekends, halts) are not filled or interpolated; a tick whose ts
is not later than the symbol's last accepted tick is a duplicate (same ts)
or out of order (older), and is dropped and counted (see ``advance``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from itertools import islice

import numpy as np

FEATURE_NAMES: tuple[str, ...] = ("ret_z", "mom_8", "mom_32", "vol_ratio", "range_8", "size_z")
WINDOW_T = 32  # time steps in one model input
LOOKBACK = 32  # returns behind each feature row (volatility and long momentum)
SHORT = 8  # short momentum / range / short volatility span, ticks
HISTORY = WINDOW_T + LOOKBACK  # prices needed for one full window
CLIP = 8.0
_EPS = 1e-12


ROW_SPAN = LOOKBACK + 1  # prices behind one feature row


def rows_from_price_windows(price_windows: np.ndarray, size_windows: np.ndarray | None) -> np.ndarray:
    """The core: [n, ROW_SPAN] trailing prices (and sizes) -> [n, F] float32 feature rows.

    Row i depends on row i of the inputs only, and every path (training's
    sliding windows, the worker's per-tick slices) reaches this function with
    contiguous float64 rows, so a row's bits do not depend on how many rows
    are computed together.
    """
    pw = np.ascontiguousarray(price_windows, dtype=np.float64)
    logp = np.log(pw)
    r = np.diff(logp, axis=1)  # [n, LOOKBACK]: r[:, -1] is the return into the row's tick
    short_r = np.ascontiguousarray(r[:, -SHORT:])
    vol = np.sqrt(np.mean(r**2, axis=1)) + _EPS
    vol_short = np.sqrt(np.mean(short_r**2, axis=1)) + _EPS
    short_logp = logp[:, -SHORT:]
    out = np.empty((len(pw), len(FEATURE_NAMES)), dtype=np.float64)
    out[:, 0] = r[:, -1] / vol
    out[:, 1] = short_r.sum(axis=1) / (vol * np.sqrt(SHORT))
    out[:, 2] = r.sum(axis=1) / (vol * np.sqrt(LOOKBACK))
    out[:, 3] = np.log(vol_short / vol)
    out[:, 4] = (short_logp.max(axis=1) - short_logp.min(axis=1)) / (vol * np.sqrt(SHORT))
    out[:, 5] = _size_z(size_windows, len(pw))
    out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(out, -CLIP, CLIP).astype(np.float32)


def _size_z(size_windows: np.ndarray | None, n_rows: int) -> np.ndarray:
    """z-score of the row's log1p(size) among its ROW_SPAN sizes; 0 without sizes or spread."""
    if size_windows is None:
        return np.zeros(n_rows)
    sw = np.ascontiguousarray(size_windows, dtype=np.float64)
    s = np.log1p(np.nan_to_num(sw, nan=0.0).clip(min=0.0))
    std = s.std(axis=1)
    z = (s[:, -1] - s.mean(axis=1)) / np.where(std > 0, std, 1.0)
    return np.where(std > 0, z, 0.0)


def feature_rows(prices: np.ndarray, sizes: np.ndarray | None) -> np.ndarray:
    """Feature rows for every tick that has LOOKBACK returns behind it.

    ``prices`` [n] > 0; ``sizes`` [n] or None. Returns [n - LOOKBACK, F] float32.
    """
    prices = np.asarray(prices, dtype=np.float64)
    if len(prices) < ROW_SPAN:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(prices, ROW_SPAN)
    size_windows = None
    if sizes is not None:
        size_windows = np.lib.stride_tricks.sliding_window_view(np.asarray(sizes, dtype=np.float64), ROW_SPAN)
    return rows_from_price_windows(windows, size_windows)


def window_from_history(prices, sizes=None) -> np.ndarray | None:
    """The [WINDOW_T, F] model input from the last HISTORY ticks, or None if too short."""
    if len(prices) < HISTORY:
        return None
    p = np.asarray(prices, dtype=np.float64)[-HISTORY:]
    s = None if sizes is None else np.asarray(sizes, dtype=np.float64)[-HISTORY:]
    return feature_rows(p, s)


def forward_return_z(prices: np.ndarray, horizon: int) -> np.ndarray:
    """Training target for the window ending at each tick: the next ``horizon``
    log return over (vol * sqrt(horizon)), NaN where the future is unknown."""
    logp = np.log(np.asarray(prices, dtype=np.float64))
    r = np.diff(logp)
    n = len(prices)
    out = np.full(n, np.nan)
    for i in range(LOOKBACK, n - horizon):
        vol = np.sqrt(np.mean(r[i - LOOKBACK : i] ** 2)) + _EPS
        out[i] = (logp[i + horizon] - logp[i]) / (vol * np.sqrt(horizon))
    return out


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


def current_window(history: SymbolHistory) -> np.ndarray | None:
    return window_from_history(list(history.prices), list(history.sizes))
