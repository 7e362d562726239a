"""Real series with a known change of regime spliced in: ground truth for the alert detectors.

``inject(rows, cut, kind)`` keeps the rows' timestamps and rebuilds prices
from log returns changed from index ``cut`` on, so the detectors can be
measured (``tickscope bench alerts``) and tested on a change whose start is known.
"""

from __future__ import annotations

import numpy as np

from tickscope.marketdata.sources import TickRow

INJECTIONS = ("trend", "nosize", "vol3")


def inject(rows: list[TickRow], cut: int, kind: str) -> list[TickRow]:
    """``rows`` with a regime change from index ``cut`` on (same timestamps, prices rebuilt from returns):

    - ``trend``: every log return gets +0.7 x the series' return std before ``cut`` (a persistent trend);
    - ``nosize``: the size (volume) field disappears (a feed change; size_z goes to 0);
    - ``vol3``: returns are tripled (volatility triples).
    """
    r = np.diff(np.log([x.price for x in rows]))[cut - 1 :]
    sizes = [x.size for x in rows[cut:]]
    if kind == "trend":
        r = r + 0.7 * np.std(np.diff(np.log([x.price for x in rows[:cut]])))
    elif kind == "vol3":
        r = 3.0 * r
    elif kind == "nosize":
        sizes = [None] * len(sizes)
    else:
        raise ValueError(f"unknown injection {kind!r}; known: {INJECTIONS}")
    prices = rows[cut - 1].price * np.exp(np.cumsum(r))
    return list(rows[:cut]) + [TickRow(rows[cut + i].ts, float(p), s) for i, (p, s) in enumerate(zip(prices, sizes))]
