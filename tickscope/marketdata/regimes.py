"""Real series with a known change of regime spliced in: ground truth for the alert detectors.

``inject(rows, cut, kind)`` keeps the rows' timestamps and rebuilds prices
from log returns changed from index ``cut`` on, so the detectors can be
measured (``tickscope bench alerts``) and tested on a change whose start is known.
"""

from __future__ import annotations

import numpy as np

from tickscope.marketdata.sources import TickRow

INJECTIONS = ("trend", "vol3", "momentum_flip", "nosize")
MOMENTUM_PHI = 0.5  # AR(1) coefficient of the returns after a momentum flip


def inject(rows: list[TickRow], cut: int, kind: str) -> list[TickRow]:
    """``rows`` with a regime change from index ``cut`` on (same timestamps, prices rebuilt from returns):

    - ``trend``: every log return gets +0.7 x the series' return std before ``cut`` (a persistent trend:
      trend and momentum features move together);
    - ``vol3``: returns are tripled (volatility triples);
    - ``momentum_flip``: the returns become an AR(1) with phi = +0.5 driven by the real returns,
      ``r'_t = 0.5 r'_{t-1} + sqrt(1 - 0.25) r_t`` (same variance): the real series' slight mean
      reversion (lag-1 autocorrelation at or below 0) flips to momentum, with no trend and no change of volatility;
    - ``nosize``: the size (volume) field disappears (a feed change; size_z goes to 0).
    """
    r = np.diff(np.log([x.price for x in rows]))[cut - 1 :]
    sizes = [x.size for x in rows[cut:]]
    if kind == "trend":
        r = r + 0.7 * np.std(np.diff(np.log([x.price for x in rows[:cut]])))
    elif kind == "vol3":
        r = 3.0 * r
    elif kind == "momentum_flip":
        r = _ar1(r, MOMENTUM_PHI)
    elif kind == "nosize":
        sizes = [None] * len(sizes)
    else:
        raise ValueError(f"unknown injection {kind!r}; known: {INJECTIONS}")
    prices = rows[cut - 1].price * np.exp(np.cumsum(r))
    return list(rows[:cut]) + [TickRow(rows[cut + i].ts, float(p), s) for i, (p, s) in enumerate(zip(prices, sizes))]


def _ar1(r: np.ndarray, phi: float) -> np.ndarray:
    """x_t = phi x_{t-1} + sqrt(1 - phi^2) r_t from x_{-1} = 0: the same variance as r, autocorrelation phi."""
    out = np.empty_like(r)
    prev, scale = 0.0, np.sqrt(1.0 - phi**2)
    for i, x in enumerate(r):
        prev = phi * prev + scale * x
        out[i] = prev
    return out
