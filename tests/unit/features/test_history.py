"""One symbol's ring buffer: the ordering rule, and windows equal to the training function's."""

from __future__ import annotations

import numpy as np

from tickscope.features.history import Admission, SymbolHistory, advance
from tickscope.features.window import HISTORY, window_from_history
from tickscope.marketdata.sources import load_source


def prices(n, seed=0, scale=1e-3, start=1.0):
    return start * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, scale, n)))


def _recomputed_window(history):
    """The window recomputed from the buffer's raw prices and sizes (what the streamed rows must equal)."""
    return window_from_history(list(history.prices), list(history.sizes))


def test_streaming_buffer_equals_offline_windows_on_real_data():
    rows = load_source("eurusd")[:300]
    history = SymbolHistory()
    p = np.array([r.price for r in rows])
    s = np.array([r.size for r in rows])
    for i, row in enumerate(rows):
        assert advance(history, row.ts, row.price, row.size) is Admission.ACCEPTED
        online = _recomputed_window(history)
        if i + 1 < HISTORY:
            assert online is None
        else:
            assert np.array_equal(online, window_from_history(p[: i + 1], s[: i + 1]))


def test_duplicates_and_out_of_order_ticks_are_dropped():
    h = SymbolHistory()
    assert advance(h, 1000, 1.0, None) is Admission.ACCEPTED
    assert advance(h, 1000, 1.1, None) is Admission.DUPLICATE
    assert advance(h, 999, 1.1, None) is Admission.OUT_OF_ORDER
    assert list(h.prices) == [1.0]
    assert advance(h, 1001, 1.2, 5.0) is Admission.ACCEPTED


def test_history_round_trips_through_json_dict():
    h = SymbolHistory()
    for i in range(HISTORY + 5):
        advance(h, i, 1.0 + i * 1e-3, float(i))
    again = SymbolHistory.from_dict(h.to_dict())
    assert np.array_equal(_recomputed_window(again), _recomputed_window(h))
    assert len(again.prices) == HISTORY


