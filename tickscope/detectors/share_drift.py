"""Detectors ``attribution_drift`` and ``segment_drift``: the explanations' share vector moved away from training.

An explanation's *shares* are ``|phi_i| / sum_j |phi_j|`` over its feature-level
(F) or segment-level (G) SHAP values: what fraction of the explained deviation
each feature or time segment carries, a probability vector whatever the score's
scale. The mean share vector of the last ``window_signals`` signals is compared
with the reference mean by the Jensen-Shannon divergence in bits (Lin 1991,
``measures.jensen_shannon``), bounded by 1, so one threshold means the same for
every symbol. One episode gives one alert (``measures.Hysteresis``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tickscope.contracts.records import ArchiveRecord
from tickscope.detectors import measures
from tickscope.detectors.protocol import AlertParams, CalibrationSample, Finding, register

POSITIONS_PER_WINDOW = 32  # time steps a window spans: the segment Wasserstein distance is reported in steps


class ShareDrift:
    """Jensen-Shannon (bits) of the windowed mean shares of one attribution level against the reference."""

    kind: ClassVar[str]
    level: ClassVar[str]  # "feature" or "segment"
    metric: ClassVar[str]
    threshold_param: ClassVar[str]
    symbol_only: ClassVar[bool] = False

    def __init__(self, reference: dict, params: AlertParams):
        self.reference = np.asarray(reference[f"{self.level}_shares"], dtype=np.float64)
        self.window = measures.ShareWindow(params.window_signals)
        self.threshold = float(params[self.threshold_param])
        self.gate = measures.Hysteresis(self.threshold, params.rearm_fraction * self.threshold,
                                        params.cooldown_signals)
        self.value: float | None = None

    def observe(self, record: ArchiveRecord) -> list[Finding]:
        shares = measures.shares(self._attributions(record))
        if shares is None:
            return []
        self.window.push(shares)
        if not self.window.full:
            return []
        mean = self.window.mean()
        self.value = measures.jensen_shannon(mean, self.reference)
        if not self.gate.step(self.value):
            return []
        return [Finding(self.metric, self.value, self.threshold, self.window.size, self._detail(mean, record))]

    def gauges(self) -> dict[str, float]:
        return {} if self.value is None else {f"js_{self.level}": self.value}

    def state(self) -> dict:
        return {"window": self.window.state(), "gate": self.gate.state(), "value": self.value}

    def restore(self, state: dict) -> None:
        self.window.restore(state["window"])
        self.gate.restore(state["gate"])
        self.value = state["value"]

    def _attributions(self, record: ArchiveRecord) -> list[float]:
        raise NotImplementedError

    def _detail(self, mean: np.ndarray, record: ArchiveRecord) -> dict:
        raise NotImplementedError


@register
class AttributionDrift(ShareDrift):
    """Which features carry the explanations changed (feature-level shares)."""

    kind = "attribution_drift"
    level = "feature"
    metric = "jensen_shannon_feature_share"
    threshold_param = "js_feature"
    params = ("window_signals", "js_feature", "rearm_fraction", "cooldown_signals")

    def _attributions(self, record: ArchiveRecord) -> list[float]:
        return record.feature_attributions

    def _detail(self, mean: np.ndarray, record: ArchiveRecord) -> dict:
        names = list(record.feature_names)
        return {
            "feature_shares": dict(zip(names, np.round(mean, 4).tolist())),
            "reference_feature_shares": dict(zip(names, np.round(self.reference, 4).tolist())),
            "psi_feature": measures.psi(mean, self.reference),
            "top_features": [names[i] for i in measures.ranking(mean)],
            "reference_top_features": [names[i] for i in measures.ranking(self.reference)],
            "window_signals": self.window.size,
        }

    @classmethod
    def calibrate(cls, sample: CalibrationSample) -> dict:
        shares = np.stack([s for s in (measures.shares(e.features) for e in sample.explanations) if s is not None])
        mean = shares.mean(0)
        return {"feature_shares": mean.tolist(), "feature_shares_std": shares.std(0, ddof=1).tolist(),
                "top_features": [sample.feature_names[i] for i in measures.ranking(mean)]}


@register
class SegmentDrift(ShareDrift):
    """When in the window the explanations' weight lies changed (event-level shares over time segments)."""

    kind = "segment_drift"
    level = "segment"
    metric = "jensen_shannon_segment_share"
    threshold_param = "js_segment"
    params = ("window_signals", "js_segment", "rearm_fraction", "cooldown_signals")

    def _attributions(self, record: ArchiveRecord) -> list[float]:
        return record.event_attributions

    def _detail(self, mean: np.ndarray, record: ArchiveRecord) -> dict:
        steps = measures.wasserstein_positions(mean, self.reference) * (POSITIONS_PER_WINDOW / len(mean))
        return {"segment_shares": np.round(mean, 4).tolist(),
                "reference_segment_shares": np.round(self.reference, 4).tolist(),
                "wasserstein_segment_steps": steps, "window_signals": self.window.size}

    @classmethod
    def calibrate(cls, sample: CalibrationSample) -> dict:
        shares = np.stack([s for s in (measures.shares(e.events) for e in sample.explanations) if s is not None])
        return {"segment_shares": shares.mean(0).tolist()}
