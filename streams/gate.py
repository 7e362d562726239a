"""Stage ``gate``: which scores are significant enough to explain and publish.

Rule: |score| > threshold, where the threshold is calibrated on training data
(a quantile of |score|, so ~2.5% of decisions pass) and travels with the
model version. After a signal its symbol stays quiet for ``cooldown`` ticks,
so one move is one signal, not a burst.
"""

from __future__ import annotations

from typing import Literal

Direction = Literal["long", "short"]


def significance(score: float, threshold: float, cooldown_left: int) -> Direction | None:
    """The signal's direction if it passes the gate, else None."""
    if cooldown_left > 0 or not abs(score) > threshold:
        return None
    return "long" if score > 0 else "short"


def next_cooldown(cooldown_left: int, fired: bool, cooldown: int) -> int:
    """Ticks of silence left for a symbol after this tick."""
    if fired:
        return cooldown
    return max(0, cooldown_left - 1)
