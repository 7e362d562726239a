"""Training windows are exactly what the streaming worker computes (no train/serve skew)."""

from __future__ import annotations

import numpy as np
import pytest

from tickscope.features.window import HISTORY, LOOKBACK, window_from_history
from tickscope.marketdata.sources import TickRow
from tickscope.models.dataset import (
    HAR_NAMES,
    HORIZON,
    TARGET_CLIP,
    VOL_FLOOR,
    VOL_TARGET_CLIP,
    build_samples,
    forward_log_vol_ratio,
    forward_return_z,
    split_source,
    target_values,
)


def _rows(n: int = 300, seed: int = 1) -> list[TickRow]:
    rng = np.random.default_rng(seed)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    sizes = rng.integers(1, 1000, n).astype(float)
    return [
        TickRow(ts=1_000 * i, price=float(p), size=None if i % 7 == 0 else float(s))
        for i, (p, s) in enumerate(zip(prices, sizes))
    ]


def test_windows_equal_window_from_history_on_the_same_slice():
    rows = _rows()
    samples = build_samples(rows)
    prices = [r.price for r in rows]
    sizes = [np.nan if r.size is None else r.size for r in rows]
    assert len(samples) == len(rows) - HISTORY + 1 - HORIZON
    for k in (0, 17, len(samples) - 1):
        i = int(samples.end_idx[k])
        expected = window_from_history(prices[: i + 1], sizes[: i + 1])
        np.testing.assert_array_equal(samples.windows[k], expected)


def test_windows_equal_the_worker_ring_buffer(model):
    """The detect stage's own rings, fed one tick per batch, hold the training windows bit for bit."""
    from tickscope.marketdata.feed import tick_json
    from tickscope.streams.detect import Batch, Message, SignalDetector

    rows = _rows()
    samples = build_samples(rows)
    detector = SignalDetector(model, 8, 4096)
    by_end = {int(i): k for k, i in enumerate(samples.end_idx)}
    checked = 0
    for i, r in enumerate(rows):
        live = TickRow(ts=1_700_000_000_000 + r.ts, price=r.price, size=r.size)  # a plausible wall-clock ts
        detector.process(Batch.of([Message(b"EURUSD", tick_json("EURUSD", live), 0, i)]), 1)
        if i in by_end:
            ring = detector.windows.rows[detector.windows.index["EURUSD"]]
            np.testing.assert_array_equal(samples.windows[by_end[i]], ring)
            checked += 1
    assert checked == len(samples)


def test_targets_are_the_clipped_forward_quantities():
    rows = _rows()
    prices = np.array([r.price for r in rows])
    vol = build_samples(rows)
    np.testing.assert_array_equal(vol.targets, target_values(prices, HORIZON, "log_vol_ratio")[vol.end_idx]
                                  .astype(np.float32))
    ret = build_samples(rows, target="return_z")
    z = forward_return_z(prices, HORIZON)
    np.testing.assert_allclose(ret.targets, np.clip(z[ret.end_idx], -TARGET_CLIP, TARGET_CLIP), rtol=1e-6)
    np.testing.assert_array_equal(vol.end_idx, ret.end_idx)  # the same windows whatever the target


def test_the_volatility_target_is_log_forward_over_trailing_rms_floored_and_clipped():
    r = np.full(80, 0.01)
    r[50:58] = 0.03  # ticks 51..58 move three times as much
    r[60:68] = 0.0  # ticks 61..68 do not move at all
    prices = 100 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    y = forward_log_vol_ratio(prices, 8)
    assert y[50] == pytest.approx(np.log(3.0), abs=1e-9)  # the next 8 returns are r[50:58]; the last 32 are 0.01
    assert y[60] == pytest.approx(np.log(VOL_FLOOR), abs=1e-9)  # no move at all: floored at VOL_FLOOR x vol
    assert np.isnan(y[:LOOKBACK]).all() and np.isnan(y[-8:]).all()
    assert np.all(np.abs(target_values(prices, 8, "log_vol_ratio")[np.isfinite(y)]) <= VOL_TARGET_CLIP)


def test_har_regressors_come_from_the_windows_own_64_prices():
    rows = _rows()
    samples = build_samples(rows)
    prices = np.array([r.price for r in rows])
    for k in (0, 40, len(samples) - 1):
        i = int(samples.end_idx[k])
        r = np.diff(np.log(prices[i - HISTORY + 1 : i + 1]))
        vol = np.sqrt(np.mean(r[-LOOKBACK:] ** 2))
        expected = [np.log(max(np.sqrt(np.mean(r[-n:] ** 2)), VOL_FLOOR * vol) / vol) for n in (1, 5, 22)]
        expected.append(np.log(vol / np.sqrt(np.mean(r**2))))
        np.testing.assert_allclose(samples.har[k], expected, atol=1e-8)  # VOL_EPS: 1e-12 on vols of ~1e-2
        assert samples.har[k].shape == (len(HAR_NAMES),)


def test_splits_are_ordered_with_a_gap():
    parts, info = split_source(build_samples(_rows(1000)))
    gap = HISTORY + HORIZON
    assert parts["val"].end_idx[0] - parts["train"].end_idx[-1] >= gap
    assert parts["test"].end_idx[0] - parts["val"].end_idx[-1] >= gap
    assert info["train"]["samples"] > info["val"]["samples"] > 0 and info["test"]["samples"] > 0


def _recomputed_window(history):
    """The window recomputed from the buffer's raw prices and sizes (what the streamed rows must equal)."""
    return window_from_history(list(history.prices), list(history.sizes))
