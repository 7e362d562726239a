"""Exact Shapley values over enumerated coalitions, and the time segments the event-level game plays with.

A game of n players is given by its value v(S) on all 2^n coalitions, in the row
order of ``all_coalitions`` (bit i of the row number = player i is in S). The
Shapley value of player i is sum over S without i of |S|!(n-|S|-1)!/n! (v(S + i)
- v(S)) (Shapley 1953), computed here with the marginal differences formed first,
so a player who changes nothing gets exactly 0.
"""

from __future__ import annotations

from functools import lru_cache
from math import factorial

import numpy as np


def segment_bounds(t: int, g: int) -> list[tuple[int, int]]:
    """G contiguous [start, stop) ranges covering T steps, as equal as possible."""
    edges = np.linspace(0, t, g + 1).round().astype(int)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(g)]


@lru_cache(maxsize=None)
def all_coalitions(n: int) -> np.ndarray:
    """[2^n, n] bool: row m has player i on when bit i of m is set (read-only, cached)."""
    m = np.arange(2**n)[:, None]
    out = ((m >> np.arange(n)) & 1).astype(bool)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=None)
def _shapley_pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each player i: the coalitions S without i, S + i, and the weight |S|!(n-|S|-1)!/n! (each [n, 2^(n-1)])."""
    masks = all_coalitions(n)
    sizes = masks.sum(axis=1)
    weights = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    without = np.stack([np.flatnonzero(~masks[:, i]) for i in range(n)])
    with_i = without | (1 << np.arange(n))[:, None]
    out = (without, with_i, weights[sizes[without]])
    for a in out:
        a.flags.writeable = False
    return out


def shapley_from_values(values: np.ndarray, n: int) -> np.ndarray:
    """Exact Shapley values from v over all 2^n coalitions (row order of all_coalitions).

    ``values`` may be [2^n] or [..., 2^n] (several games at once). Marginal
    contributions are formed first, so a player who changes nothing gets exactly 0."""
    without, with_i, weights = _shapley_pairs(n)
    v = np.asarray(values, dtype=np.float64)
    return np.sum((v[..., with_i] - v[..., without]) * weights, axis=-1)
