"""Exact Shapley values over enumerated coalitions agree with the permutation definition."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np

from tickscope.explainer.shapley import all_coalitions, segment_bounds, shapley_from_values


def brute_force_shapley(v, n):
    """Shapley values by the permutation definition, for small n."""
    phi = np.zeros(n)
    for order in itertools.permutations(range(n)):
        on = 0
        for player in order:
            phi[player] += v(on | (1 << player)) - v(on)
            on |= 1 << player
    return phi / factorial(n)


def test_exact_shapley_matches_the_permutation_definition():
    rng = np.random.default_rng(0)
    table = rng.normal(size=2**5)
    phi = shapley_from_values(table, 5)
    assert np.allclose(phi, brute_force_shapley(lambda m: table[m], 5), atol=1e-12)


def test_coalition_rows_follow_bit_order():
    masks = all_coalitions(3)
    assert masks.shape == (8, 3)
    assert masks[5].tolist() == [True, False, True]


def test_segments_cover_every_step_once():
    for t, g in [(32, 8), (30, 8), (64, 8)]:
        segs = segment_bounds(t, g)
        assert segs[0][0] == 0 and segs[-1][1] == t
        assert all(a[1] == b[0] for a, b in zip(segs, segs[1:]))
