"""The feature function: shape, scale-freedom, finiteness, clipping, dependence on the last ticks only."""

from __future__ import annotations

import numpy as np
import pytest

from tickscope.features.window import FEATURE_NAMES, HISTORY, WINDOW_T, feature_rows, window_from_history


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


@pytest.mark.parametrize("n", [HISTORY, HISTORY + 1, 3 * HISTORY])
def test_feature_rows_count(n):
    assert feature_rows(prices(n), None).shape[0] == n - 32


