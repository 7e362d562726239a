"""Training windows are exactly what the streaming worker computes (no train/serve skew)."""

from __future__ import annotations

import numpy as np

from tickscope.features.window import HISTORY, window_from_history
from tickscope.marketdata.sources import TickRow
from tickscope.models.dataset import HORIZON, TARGET_CLIP, build_samples, forward_return_z, split_source


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


def test_targets_are_clipped_forward_return_z():
    rows = _rows()
    samples = build_samples(rows)
    z = forward_return_z(np.array([r.price for r in rows]), HORIZON)
    np.testing.assert_allclose(samples.targets, np.clip(z[samples.end_idx], -TARGET_CLIP, TARGET_CLIP), rtol=1e-6)


def test_splits_are_ordered_with_a_gap():
    parts, info = split_source(build_samples(_rows(1000)))
    gap = HISTORY + HORIZON
    assert parts["val"].end_idx[0] - parts["train"].end_idx[-1] >= gap
    assert parts["test"].end_idx[0] - parts["val"].end_idx[-1] >= gap
    assert info["train"]["samples"] > info["val"]["samples"] > 0 and info["test"]["samples"] > 0


def _recomputed_window(history):
    """The window recomputed from the buffer's raw prices and sizes (what the streamed rows must equal)."""
    return window_from_history(list(history.prices), list(history.sizes))
