"""Training samples from tick series: windows, targets, HAR regressors and walk-forward splits.

Why this module exists: training must see exactly what the streaming worker
sees, so every window here is made of the feature rows the model's feature
function (models.spec) computes on the same trailing prices the worker's ring
buffer would hold (sizes missing in the source become NaN, as in the worker);
a row's bits do not depend on how many rows are computed together, so the
windows equal ``tickscope.features.window.window_from_history`` bit for bit.

Sample k of a source is the window ending at tick ``end[k]`` (stride 1) and its
target at that tick (``TARGETS``):

- ``log_vol_ratio`` (the default model's): log(RMS(r_{i+1..i+h}) / vol_i), the
  next h ticks' realised volatility over the trailing 32-tick volatility of the
  window's last row; 0 = the next h ticks move like the last 32, +0.69 = twice as
  much. The forward RMS is floored at ``VOL_FLOOR`` x vol_i (a run of unchanged
  prices stays finite); clipped to +-3.
- ``return_z`` (the first model's): the next h-tick log return over vol_i sqrt(h),
  clipped to +-5.

HAR regressors (the volatility target's baseline, ``har_regressors``): from the
window's own last 64 prices, so a baseline sees no more than the model.

Split rule (per source, by time, no leakage): the first 70% of samples are
train, the next 15% validation, the last 15% test. Between splits, samples are
dropped until the first end tick of the later split is at least GAP = history +
horizon ticks after the last end tick of the earlier one, so no window or
target of one split shares a price with a window or target of the next.
A source too short to fit a split after its gap leaves that split empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tickscope.contracts.times import iso_utc
from tickscope.features.window import HISTORY, LOOKBACK, VOL_EPS, WINDOW_T
from tickscope.models.spec import DEFAULT_FEATURES, FeatureFunction, feature_function, feature_rows

HORIZON = 8  # ticks ahead the target looks
TARGET_CLIP = 5.0  # |return_z| cap, in vol*sqrt(horizon) units
VOL_FLOOR = 0.05  # forward / short RMS floor, as a share of the trailing vol
VOL_TARGET_CLIP = 3.0  # |log_vol_ratio| cap
HAR_HISTORY = HISTORY  # prices behind each HAR regressor row: the default window's own 64
HAR_NAMES = ("log_rms1_vol", "log_rms5_vol", "log_rms22_vol", "log_vol_vol63")
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Samples:
    """Model inputs and targets of one source (or a concatenation of sources)."""

    windows: np.ndarray  # [N, T, F] float32
    targets: np.ndarray  # [N] float32, the clipped target
    end_ts: np.ndarray  # [N] int64 epoch ms of each window's last tick
    end_idx: np.ndarray  # [N] int64 tick index of each window's last tick
    har: np.ndarray  # [N, 4] float64 HAR regressors (HAR_NAMES)
    source: np.ndarray  # [N] int64 index of the sample's source (its position in the training sources)

    def __len__(self) -> int:
        return len(self.targets)

    def take(self, start: int, stop: int) -> "Samples":
        return Samples(*(getattr(self, f)[start:stop] for f in _FIELDS))


_FIELDS = ("windows", "targets", "end_ts", "end_idx", "har", "source")


def forward_return_z(prices: np.ndarray, horizon: int) -> np.ndarray:
    """The next ``horizon`` log return over (vol * sqrt(horizon)) at each tick, NaN where the future is unknown."""
    logp = np.log(np.asarray(prices, dtype=np.float64))
    r = np.diff(logp)
    n = len(prices)
    out = np.full(n, np.nan)
    for i in range(LOOKBACK, n - horizon):
        vol = np.sqrt(np.mean(r[i - LOOKBACK : i] ** 2)) + VOL_EPS
        out[i] = (logp[i + horizon] - logp[i]) / (vol * np.sqrt(horizon))
    return out


def forward_log_vol_ratio(prices: np.ndarray, horizon: int) -> np.ndarray:
    """log(RMS(r_{i+1..i+h}) / vol_i) at each tick (vol_i as in feature row i), floored, NaN where unknown."""
    r = np.diff(np.log(np.asarray(prices, dtype=np.float64)))
    out = np.full(len(r) + 1, np.nan)
    for i in range(LOOKBACK, len(r) + 1 - horizon):
        vol = np.sqrt(np.mean(r[i - LOOKBACK : i] ** 2)) + VOL_EPS
        fwd = np.sqrt(np.mean(r[i : i + horizon] ** 2))
        out[i] = np.log(max(fwd, VOL_FLOOR * vol) / vol)
    return out


TARGETS = {  # name -> (function of (prices, horizon), clip, what the score forecasts)
    "log_vol_ratio": (forward_log_vol_ratio, VOL_TARGET_CLIP,
                      "log(realised vol of the next {h} ticks / vol of the last 32 ticks)"),
    "return_z": (forward_return_z, TARGET_CLIP, "forward {h}-tick log return / (vol * sqrt({h}))"),
}


def target_values(prices, horizon: int, target: str) -> np.ndarray:
    fn, clip, _ = TARGETS[target]
    return np.clip(fn(prices, horizon), -clip, clip)


def har_regressors(prices: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """[len(ends), 4]: from the HAR_HISTORY prices ending at each tick, relative to vol = RMS of the last 32
    returns (scale-free, so one pooled fit serves every asset): log RMS of the last 1, 5, 22 returns over vol
    (Corsi's daily / weekly / monthly terms, in ticks; floored at VOL_FLOOR x vol) and log(vol / RMS of all
    63 returns) (the long level: volatility mean-reverts)."""
    r = np.diff(np.log(np.asarray(prices, dtype=np.float64)))
    spans = np.lib.stride_tricks.sliding_window_view(r, HAR_HISTORY - 1)[np.asarray(ends) - (HAR_HISTORY - 1)]
    vol = np.sqrt(np.mean(spans[:, -LOOKBACK:] ** 2, axis=1)) + VOL_EPS

    def rms(k):
        return np.maximum(np.sqrt(np.mean(spans[:, -k:] ** 2, axis=1)), VOL_FLOOR * vol)

    long = np.sqrt(np.mean(spans**2, axis=1)) + VOL_EPS
    return np.column_stack([np.log(rms(1) / vol), np.log(rms(5) / vol), np.log(rms(22) / vol), np.log(vol / long)])


def tick_arrays(rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prices, sizes with NaN for missing, ts ms) as float64/float64/int64 arrays."""
    prices = np.array([r.price for r in rows], dtype=np.float64)
    sizes = np.array([np.nan if r.size is None else r.size for r in rows], dtype=np.float64)
    ts = np.array([r.ts for r in rows], dtype=np.int64)
    return prices, sizes, ts


def history_of(ff: FeatureFunction, window_t: int) -> int:
    """Ticks behind one full window: T feature rows of ``row_span`` prices each, overlapping."""
    return window_t + ff.row_span - 1


def build_samples(rows, horizon: int = HORIZON, target: str = "log_vol_ratio", source: int = 0,
                  features: str = DEFAULT_FEATURES, window_t: int = WINDOW_T) -> Samples:
    """One sample per end tick with a full window, a known target and HAR_HISTORY prices behind it."""
    ff = feature_function(features)
    prices, sizes, ts = tick_arrays(rows)
    y = target_values(prices, horizon, target)
    first = max(history_of(ff, window_t), HAR_HISTORY) - 1
    ends = np.asarray([i for i in range(first, len(prices)) if np.isfinite(y[i])], dtype=np.int64)
    if not len(ends):
        return Samples(np.zeros((0, window_t, len(ff.feature_names)), np.float32), np.zeros(0, np.float32),
                       np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(HAR_NAMES))),
                       np.zeros(0, np.int64))
    frows = feature_rows(ff, prices, sizes)  # row j belongs to tick j + row_span - 1
    first_row = ends - (ff.row_span - 1) - (window_t - 1)
    windows = frows[first_row[:, None] + np.arange(window_t)[None, :]]
    return Samples(np.ascontiguousarray(windows, dtype=np.float32), y[ends].astype(np.float32), ts[ends], ends,
                   har_regressors(prices, ends), np.full(len(ends), source, dtype=np.int64))


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


def split_source(samples: Samples, horizon: int = HORIZON, history: int = HISTORY) -> tuple[dict[str, Samples], dict]:
    """Split one source's samples; returns the parts and a JSON-able description."""
    bounds = split_bounds(samples.end_idx, history + horizon)
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
    return Samples(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))
