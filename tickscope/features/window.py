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
wall time (weekends, halts) are not filled or interpolated (the ordering rule
is in ``tickscope.features.history``).
"""

from __future__ import annotations

import numpy as np

FEATURE_NAMES: tuple[str, ...] = ("ret_z", "mom_8", "mom_32", "vol_ratio", "range_8", "size_z")
WINDOW_T = 32  # time steps in one model input
LOOKBACK = 32  # returns behind each feature row (volatility and long momentum)
SHORT = 8  # short momentum / range / short volatility span, ticks
HISTORY = WINDOW_T + LOOKBACK  # prices needed for one full window
CLIP = 8.0
VOL_EPS = 1e-12  # added to volatilities (log-return units) so flat prices never divide by zero


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
    vol = np.sqrt(np.mean(r**2, axis=1)) + VOL_EPS
    vol_short = np.sqrt(np.mean(short_r**2, axis=1)) + VOL_EPS
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
