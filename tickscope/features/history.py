"""One symbol's ring buffer of recent ticks, and the ordering rule that admits a tick to it.

Gap rule: features run in event time (tick order), not wall time. A tick
whose ts is not later than the symbol's last accepted tick is a duplicate
(same ts) or out of order (older), and is dropped and counted (``advance``).
The buffer is what the window-state changelog saves (``to_dict``) and
reloads (``from_dict``) so a restarted worker resumes exactly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from itertools import islice

import numpy as np

from tickscope.features.window import HISTORY, ROW_SPAN, WINDOW_T, feature_rows


class Admission(str, Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out_of_order"


@dataclass
class SymbolHistory:
    """Ring buffer of one symbol's last HISTORY ticks (event time)."""

    last_ts: int | None = None
    prices: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    sizes: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    cooldown: int = 0  # ticks left before this symbol may signal again
    applied_offset: int = -1  # offset (in its ticks partition) of the last message applied
    rows: deque = field(default_factory=lambda: deque(maxlen=WINDOW_T))  # derived: last feature rows

    def to_dict(self) -> dict:
        sizes = [None if s != s else s for s in self.sizes]  # NaN (unknown size) is not JSON: null
        return {"last_ts": self.last_ts, "prices": list(self.prices), "sizes": sizes,
                "cooldown": self.cooldown, "applied_offset": self.applied_offset}

    @classmethod
    def from_dict(cls, d: dict) -> "SymbolHistory":
        h = cls(last_ts=d.get("last_ts"), cooldown=int(d.get("cooldown", 0)),
                applied_offset=int(d.get("applied_offset", -1)))
        h.prices.extend(d.get("prices", []))
        h.sizes.extend(float("nan") if s is None else s for s in d.get("sizes", []))
        h.rows.extend(feature_rows(np.array(h.prices, dtype=np.float64), np.array(h.sizes, dtype=np.float64)))
        return h

    def row_inputs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The trailing prices and sizes of the newest tick's feature row, if it has one."""
        if len(self.prices) < ROW_SPAN:
            return None
        start = len(self.prices) - ROW_SPAN
        return (np.fromiter(islice(self.prices, start, None), dtype=np.float64, count=ROW_SPAN),
                np.fromiter(islice(self.sizes, start, None), dtype=np.float64, count=ROW_SPAN))

    def push_row(self, row: np.ndarray) -> np.ndarray | None:
        """Append the newest tick's feature row; the [T, F] window once T rows exist."""
        self.rows.append(row)
        return np.stack(self.rows) if len(self.rows) == WINDOW_T else None


def advance(history: SymbolHistory, ts: int, price: float, size: float | None) -> Admission:
    """Append one tick if it is newer than the last one seen for its symbol.

    Rule: same ts as the last accepted tick -> DUPLICATE (dropped, counted);
    older ts -> OUT_OF_ORDER (dropped, counted). Missing size counts as NaN,
    which ``size_z`` turns into 0.
    """
    if history.last_ts is not None:
        if ts == history.last_ts:
            return Admission.DUPLICATE
        if ts < history.last_ts:
            return Admission.OUT_OF_ORDER
    history.last_ts = ts
    history.prices.append(float(price))
    history.sizes.append(float("nan") if size is None else float(size))
    return Admission.ACCEPTED
