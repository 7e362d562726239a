import numpy as np
import pytest

from streams.features import (
    FEATURE_NAMES,
    HISTORY,
    WINDOW_T,
    Admission,
    SymbolHistory,
    advance,
    current_window,
    feature_rows,
    window_from_history,
)
from streams.sources import load_source


def prices(n, seed=0, scale=1e-3, start=1.0):
    return start * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, scale, n)))


def test_window_shape_and_finiteness():
    w = window_from_history(prices(HISTORY), np.full(HISTORY, 10.0))
    assert w.shape == (WINDOW_T, len(FEATURE_NAMES)) and w.dtype == np.float32
    assert np.isfinite(w).all()


def test_too_short_history_gives_no_window():
    assert window_from_history(prices(HISTORY - 1)) is None


def test_features_are_scale_free():
    p = prices(HISTORY, seed=3)
    assert np.allclose(window_from_history(p), window_from_history(p * 50_000.0), atol=1e-4)


def test_flat_prices_and_missing_sizes_never_give_nan_or_inf():
    w = window_from_history(np.full(HISTORY, 7.0), np.full(HISTORY, np.nan))
    assert np.isfinite(w).all() and not w.any()


def test_extreme_jump_is_clipped():
    p = prices(HISTORY)
    p[-1] = p[-2] * 1e6
    assert np.abs(window_from_history(p)).max() <= 8.0


def test_window_only_depends_on_the_last_history_ticks():
    p = prices(500, seed=1)
    assert np.array_equal(window_from_history(p), window_from_history(p[-HISTORY:]))
    assert np.array_equal(window_from_history(p[:200]), feature_rows(p[200 - HISTORY : 200], None))


def test_streaming_buffer_equals_offline_windows_on_real_data():
    rows = load_source("eurusd")[:300]
    history = SymbolHistory()
    p = np.array([r.price for r in rows])
    s = np.array([r.size for r in rows])
    for i, row in enumerate(rows):
        assert advance(history, row.ts, row.price, row.size) is Admission.ACCEPTED
        online = current_window(history)
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
    assert np.array_equal(current_window(again), current_window(h))
    assert len(again.prices) == HISTORY


@pytest.mark.parametrize("n", [HISTORY, HISTORY + 1, 3 * HISTORY])
def test_feature_rows_count(n):
    assert feature_rows(prices(n), None).shape[0] == n - 32
