"""Training samples from tick series: windows, targets and walk-forward splits.

Why this module exists: training must see exactly what the streaming worker
sees, so every window here is produced by ``tickscope.features.window.window_from_history``
on the same last-HISTORY-ticks slice the worker's ring buffer would hold
(sizes missing in the source become NaN, as ``tickscope.features.history.advance`` does).

Sample k of a source is the window ending at tick ``end[k]`` (stride 1 by
default) and its target ``forward_return_z(prices, horizon)[end[k]]``: the next
``horizon``-tick log return in units of vol * sqrt(horizon), clipped to
+-TARGET_CLIP so a handful of crash days cannot dominate the loss.

Split rule (per source, by time, no leakage): the first 70% of samples are
train, the next 15% validation, the last 15% test. Between splits, samples are
dropped until the first end tick of the later split is at least GAP = HISTORY +
horizon ticks after the last end tick of the earlier one, so no window or
target of one split shares a price with a window or target of the next.
A source too short to fit a split after its gap leaves that split empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tickscope.contracts.times import iso_utc
from tickscope.features.window import FEATURE_NAMES, HISTORY, LOOKBACK, VOL_EPS, WINDOW_T, window_from_history

HORIZON = 8  # ticks ahead the target looks
TARGET_CLIP = 5.0  # |target| cap, in vol*sqrt(horizon) units
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Samples:
    """Model inputs and targets of one source (or a concatenation of sources)."""

    windows: np.ndarray  # [N, WINDOW_T, F] float32
    targets: np.ndarray  # [N] float32, clipped forward return z
    end_ts: np.ndarray  # [N] int64 epoch ms of each window's last tick
    end_idx: np.ndarray  # [N] int64 tick index of each window's last tick

    def __len__(self) -> int:
        return len(self.targets)

    def take(self, start: int, stop: int) -> "Samples":
        return Samples(
            self.windows[start:stop], self.targets[start:stop], self.end_ts[start:stop], self.end_idx[start:stop]
        )


def forward_return_z(prices: np.ndarray, horizon: int) -> np.ndarray:
    """Training target for the window ending at each tick: the next ``horizon``
    log return over (vol * sqrt(horizon)), NaN where the future is unknown."""
    logp = np.log(np.asarray(prices, dtype=np.float64))
    r = np.diff(logp)
    n = len(prices)
    out = np.full(n, np.nan)
    for i in range(LOOKBACK, n - horizon):
        vol = np.sqrt(np.mean(r[i - LOOKBACK : i] ** 2)) + VOL_EPS
        out[i] = (logp[i + horizon] - logp[i]) / (vol * np.sqrt(horizon))
    return out


def tick_arrays(rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prices, sizes with NaN for missing, ts ms) as float64/float64/int64 arrays."""
    prices = np.array([r.price for r in rows], dtype=np.float64)
    sizes = np.array([np.nan if r.size is None else r.size for r in rows], dtype=np.float64)
    ts = np.array([r.ts for r in rows], dtype=np.int64)
    return prices, sizes, ts


def build_samples(rows, horizon: int = HORIZON, stride: int = 1) -> Samples:
    """Slide ``window_from_history`` over a series: one sample per end tick with a known target."""
    prices, sizes, ts = tick_arrays(rows)
    target = forward_return_z(prices, horizon)
    ends = [i for i in range(HISTORY - 1, len(prices), stride) if np.isfinite(target[i])]
    if not ends:
        n_feat = len(FEATURE_NAMES)
        return Samples(
            np.zeros((0, WINDOW_T, n_feat), np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        )
    windows = np.stack(
        [window_from_history(prices[i - HISTORY + 1 : i + 1], sizes[i - HISTORY + 1 : i + 1]) for i in ends]
    )
    end_idx = np.asarray(ends, dtype=np.int64)
    targets = np.clip(target[end_idx], -TARGET_CLIP, TARGET_CLIP).astype(np.float32)
    return Samples(windows.astype(np.float32), targets, ts[end_idx], end_idx)


def split_bounds(end_idx: np.ndarray, gap: int) -> dict[str, tuple[int, int]]:
    """Sample index ranges [start, stop) of train/val/test for one source (see module doc)."""
    n = len(end_idx)
    cut1 = int(n * SPLIT_FRACTIONS[0])
    cut2 = int(n * (SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1]))
    bounds = {"train": (0, cut1)}
    val_start = _first_after(end_idx, cut1, gap)
    bounds["val"] = (min(val_start, cut2), cut2)
    test_start = _first_after(end_idx, cut2, gap)
    bounds["test"] = (min(test_start, n), n)
    return bounds


def _first_after(end_idx: np.ndarray, cut: int, gap: int) -> int:
    """First sample index whose end tick is >= gap ticks after the end tick of sample cut-1."""
    if cut <= 0:
        return 0
    return int(np.searchsorted(end_idx, end_idx[cut - 1] + gap, side="left"))


def iso(ms: int) -> str:
    """Second-resolution UTC time of a window end, as recorded in the artifact metadata."""
    return iso_utc(ms, timespec="seconds")


def split_source(samples: Samples, horizon: int = HORIZON) -> tuple[dict[str, Samples], dict]:
    """Split one source's samples; returns the parts and a JSON-able description."""
    bounds = split_bounds(samples.end_idx, HISTORY + horizon)
    parts, info = {}, {}
    for name in SPLITS:
        part = samples.take(*bounds[name])
        parts[name] = part
        info[name] = {"samples": len(part)}
        if len(part):
            info[name].update(first_end=iso(part.end_ts[0]), last_end=iso(part.end_ts[-1]))
    return parts, info


def concat(parts: list[Samples]) -> Samples:
    """Concatenate samples in the given (deterministic) order."""
    parts = [p for p in parts if len(p)] or parts[:1]
    return Samples(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("windows", "targets", "end_ts", "end_idx"))
    )
