"""Stage ``gate``: which scores are significant enough to explain and publish.

Rule: a score above the model version's upper threshold is a ``long`` signal, one
below its lower threshold a ``short`` one (``LoadedModel.thresholds``: calibrated
on training data, so a known share of decisions passes, and travelling with the
model version; a symmetric model has lower = -upper). After a signal its symbol
stays quiet for ``cooldown`` ticks, so one move is one signal, not a burst.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from tickscope.streams.score import score_one

Direction = Literal["long", "short"]


def significance(score: float, thresholds: tuple[float, float], cooldown_left: int) -> Direction | None:
    """The signal's direction if it passes the gate (``thresholds`` = (lower, upper)), else None."""
    lower, upper = thresholds
    if cooldown_left > 0:
        return None
    if score > upper:
        return "long"
    if score < lower:
        return "short"
    return None



def next_cooldown(cooldown_left: int, fired: bool, cooldown: int) -> int:
    """Ticks of silence left for a symbol after this tick."""
    if fired:
        return cooldown
    return max(0, cooldown_left - 1)


CANDIDATE_MARGIN = 1e-3  # of the larger threshold: batch-vs-alone score differences are ~1e-7, far inside this


def near_either_threshold(scores: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    """Indices of batch scores close enough to a threshold, or beyond it, to need the window scored alone."""
    lower, upper = thresholds
    margin = CANDIDATE_MARGIN * max(abs(lower), abs(upper))
    return np.flatnonzero((scores > upper - margin) | (scores < lower + margin))


def gate_windows(model, windows_state, rows, windows, batch_scores, cooldown: int):
    """(index, score alone, direction) of each significant window of a batch, in arrival order.

    ``rows`` is each window's symbol row in ``windows_state`` (a SymbolWindows), arrival order; its
    ``cooldown`` column is read and updated. Every scored window counts one tick of cooldown down, as
    ``next_cooldown`` does one window at a time. Only windows whose batch score is within
    ``CANDIDATE_MARGIN`` of the threshold, or beyond, are scored alone (``score.score_one``), and not
    even those while their symbol is still cooling down: the gate says no whatever the score then.
    """
    thresholds = model.thresholds
    order = np.argsort(rows, kind="stable")
    rank = np.empty(len(rows), dtype=np.int64)
    sorted_rows = rows[order]
    starts = np.r_[True, sorted_rows[1:] != sorted_rows[:-1]]
    rank[order] = np.arange(len(rows)) - np.flatnonzero(starts)[np.cumsum(starts) - 1]
    events: dict[int, tuple[int, int]] = {}  # row -> (cooldown left after its last event, rank of that window)
    out = []
    for k in near_either_threshold(batch_scores, thresholds).tolist():
        row, r = int(rows[k]), int(rank[k])
        left, at = events.get(row, (int(windows_state.cooldown[row]), -1))
        left = max(0, left - (r - at - 1))  # windows since the last event counted down one each
        if left > 0:
            events[row] = (left - 1, r)
            continue
        value = score_one(model.net, windows[k])
        direction = significance(value, thresholds, left)
        events[row] = (next_cooldown(left, direction is not None, cooldown), r)
        if direction is not None:
            out.append((k, value, direction))
    totals = np.bincount(rows, minlength=0)
    for row in np.unique(rows).tolist():
        left, at = events.get(row, (int(windows_state.cooldown[row]), -1))
        windows_state.cooldown[row] = max(0, left - (int(totals[row]) - at - 1))
    return out
