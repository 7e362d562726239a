"""The measures the alert detectors are built from: no Kafka, no clock, no model.

What they measure (definitions and calibration: docs/alerts.md):

- **Share drift.** An explanation's *shares* are ``|phi_i| / sum_j |phi_j|``
  over its feature-level (F) or segment-level (G) SHAP values: what fraction
  of the explained deviation each feature / time segment carries, a
  probability vector whatever the score's scale. The mean share vector of a
  sliding window of the last N signals is compared with a reference mean by
  the Jensen-Shannon divergence in bits (Lin, *Divergence measures based on
  the Shannon entropy*, IEEE Trans. Inf. Theory 37(1), 1991): symmetric,
  finite when a share is 0, and bounded by 1 bit, so one threshold means the
  same thing for every symbol. PSI and the 1-D Wasserstein distance over
  feature positions are provided for the detail of an alert.
- **Top-feature change.** The feature with the largest mean share in the
  window differs from the reference's, by at least a margin of share.
- **Stability.** Local Lipschitz ratio between two explained signals of one
  symbol whose inputs are close (Alvarez-Melis & Jaakkola, *On the robustness
  of interpretability methods*, 2018): ``||phi_a - phi_b||_2 / ||x_a - x_b||_2``
  (score units per feature unit) for pairs with ``||x_a - x_b||_2 < radius``.
- **Faithfulness decay.** One-sided CUSUM for a downward shift of the mean of
  a standardised sequence (Page, *Continuous inspection schemes*, Biometrika
  41, 1954): ``S_n = max(0, S_{n-1} + (mu - x_n)/sigma - k)``, alarm when
  ``S_n > h``; ``k`` is half the shift (in sigmas) it is tuned to detect.

One episode gives one alert: ``Hysteresis`` raises when a value crosses the
upper threshold, and re-arms only after it has fallen below the lower one and
a cooldown (in signals) has passed.
"""

from __future__ import annotations

import base64
from collections import deque
from dataclasses import dataclass, field

import numpy as np

_TINY = 1e-12


def pack(a) -> str:
    """An array as exact text for a changelog: float32 bytes when that loses nothing, else float64 (base64)."""
    a = np.asarray(a, dtype=np.float64)
    if np.array_equal(a.astype(np.float32).astype(np.float64), a, equal_nan=True):
        return "f4:" + base64.b64encode(a.astype("<f4").tobytes()).decode("ascii")
    return "f8:" + base64.b64encode(a.astype("<f8").tobytes()).decode("ascii")


def unpack(text: str) -> np.ndarray:
    """The float64 array ``pack`` wrote (flat)."""
    kind, _, data = text.partition(":")
    return np.frombuffer(base64.b64decode(data), dtype={"f4": "<f4", "f8": "<f8"}[kind]).astype(np.float64)


def shares(values) -> np.ndarray | None:
    """|v| / sum |v| (a probability vector), or None when every value is 0 or any is non-finite."""
    a = np.abs(np.asarray(values, dtype=np.float64))
    total = a.sum()
    if not np.isfinite(total) or total <= _TINY:
        return None
    return a / total


def jensen_shannon(p, q) -> float:
    """Jensen-Shannon divergence in bits (log base 2): 0 for equal vectors, at most 1 (Lin 1991)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a):
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def psi(p, q, floor: float = 1e-4) -> float:
    """Population stability index sum (p - q) ln(p / q), shares floored at ``floor`` (dimensionless)."""
    p = np.maximum(np.asarray(p, dtype=np.float64), floor)
    q = np.maximum(np.asarray(q, dtype=np.float64), floor)
    return float(np.sum((p - q) * np.log(p / q)))


def wasserstein_positions(p, q) -> float:
    """1-D earth mover's distance between two share vectors over positions 0..n-1 (in positions).

    Meaningful for segments, which are ordered in time (how far the weight moved).
    """
    return float(np.abs(np.cumsum(np.asarray(p, float) - np.asarray(q, float))).sum())


def ranking(share_vector) -> list[int]:
    """Indices by decreasing share (ties: lower index first)."""
    return [int(i) for i in np.argsort(-np.asarray(share_vector), kind="stable")]


class ShareWindow:
    """The last ``size`` share vectors and their mean (sliding window, in signals)."""

    def __init__(self, size: int):
        self.items: deque[np.ndarray] = deque(maxlen=size)

    @property
    def size(self) -> int:
        return self.items.maxlen

    def push(self, vector: np.ndarray) -> None:
        self.items.append(vector)

    @property
    def full(self) -> bool:
        return len(self.items) == self.items.maxlen

    def mean(self) -> np.ndarray:
        return np.mean(np.stack(self.items), axis=0)

    def state(self) -> list[str]:
        return [pack(v) for v in self.items]

    def restore(self, state: list[str]) -> None:
        self.items.clear()
        self.items.extend(unpack(v) for v in state)


@dataclass
class Hysteresis:
    """Raise once per episode: above ``high`` while armed fires and disarms; re-arm below ``low``
    after at least ``cooldown`` steps (signals) since the last firing."""

    high: float
    low: float
    cooldown: int
    armed: bool = True
    since: int = 10**9

    def step(self, value: float | None) -> bool:
        self.since += 1
        if value is None:
            return False
        if self.armed and value > self.high:
            self.armed, self.since = False, 0
            return True
        if not self.armed and value < self.low and self.since >= self.cooldown:
            self.armed = True
        return False

    def state(self) -> dict:
        return {"armed": self.armed, "since": self.since}

    def restore(self, state: dict) -> None:
        self.armed, self.since = bool(state["armed"]), int(state["since"])


@dataclass
class Cusum:
    """Page's (1954) one-sided lower CUSUM on ``(mu - x) / sigma``.

    ``k`` (sigmas) is the allowance, half the shift to detect; ``h`` (sigmas)
    the decision interval. After an alarm S restarts at 0, so a persisting
    shift alarms again only after accumulating ``h`` anew (the caller's
    cooldown turns those into one alert). ``start`` is the step at which the
    current excursion left 0: the change-point estimate.
    """

    mu: float
    sigma: float
    k: float
    h: float
    s: float = 0.0
    n: int = 0
    start: int | None = None

    def step(self, x: float | None) -> bool:
        self.n += 1
        if x is None or not np.isfinite(x):
            return False
        z = (self.mu - float(x)) / max(self.sigma, _TINY)
        before = self.s
        self.s = max(0.0, self.s + z - self.k)
        if self.s > 0 and before == 0:
            self.start = self.n
        if self.s > self.h:
            self.s = 0.0
            return True
        return False

    def state(self) -> dict:
        return {"s": self.s, "n": self.n, "start": self.start}

    def restore(self, state: dict) -> None:
        self.s, self.n, self.start = float(state["s"]), int(state["n"]), state["start"]


@dataclass
class NeighbourStability:
    """Largest local Lipschitz ratio of a new explanation against recent ones with nearby inputs.

    Keeps the last ``history`` (window, attribution) pairs of one symbol.
    ``ratio`` is in score units per feature unit; input distance is the
    Euclidean norm over the [T][F] window (feature units).
    """

    radius: float
    history: int = 64
    seen: deque = field(default_factory=deque)

    def step(self, window: np.ndarray, phi: np.ndarray, tag: str) -> tuple[float | None, str | None]:
        """(max ratio over neighbours within ``radius``, the tag of that neighbour); (None, None) if none."""
        best, best_tag = None, None
        x = np.asarray(window, dtype=np.float64).reshape(-1)
        for xb, pb, tb in self.seen:
            dist = float(np.linalg.norm(x - xb))
            if 0 < dist < self.radius:
                ratio = float(np.linalg.norm(phi - pb)) / dist
                if best is None or ratio > best:
                    best, best_tag = ratio, tb
        self.seen.append((x, np.asarray(phi, dtype=np.float64), tag))
        while len(self.seen) > self.history:
            self.seen.popleft()
        return best, best_tag

    def state(self) -> list:
        return [[pack(x), pack(phi), tag] for x, phi, tag in self.seen]

    def restore(self, state: list) -> None:
        self.seen = deque((unpack(x), unpack(phi), tag) for x, phi, tag in state)
