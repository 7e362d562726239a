"""Detector ``rank_change``: a different feature now carries the explanations than in training.

Over the last ``window_signals`` signals, the feature with the largest mean
share must lead the reference's top feature by at least ``rank_margin`` of
share (a fraction, 0..1) before it counts: a near tie between two features is
not a change of what drives the model.
"""

from __future__ import annotations

import numpy as np

from tickscope.contracts.records import ArchiveRecord
from tickscope.detectors import measures
from tickscope.detectors.protocol import AlertParams, CalibrationSample, Finding, register


@register
class RankChange:
    kind = "rank_change"
    metric = "top_feature_share_lead"
    params = ("window_signals", "rank_margin", "rearm_fraction", "cooldown_signals")
    symbol_only = False

    def __init__(self, reference: dict, params: AlertParams):
        self.reference = np.asarray(reference["feature_shares"], dtype=np.float64)
        self.reference_top = measures.ranking(self.reference)[0]
        self.window = measures.ShareWindow(params.window_signals)
        self.margin = float(params.rank_margin)
        self.gate = measures.Hysteresis(self.margin, params.rearm_fraction * self.margin, params.cooldown_signals)

    def observe(self, record: ArchiveRecord) -> list[Finding]:
        shares = measures.shares(record.feature_attributions)
        if shares is None:
            return []
        self.window.push(shares)
        if not self.window.full:
            return []
        mean = self.window.mean()
        top = measures.ranking(mean)[0]
        lead = float(mean[top] - mean[self.reference_top]) if top != self.reference_top else 0.0
        if not self.gate.step(lead):
            return []
        names = list(record.feature_names)
        detail = {"feature_shares": dict(zip(names, np.round(mean, 4).tolist())),
                  "reference_feature_shares": dict(zip(names, np.round(self.reference, 4).tolist())),
                  "top_features": [names[i] for i in measures.ranking(mean)],
                  "reference_top_features": [names[i] for i in measures.ranking(self.reference)],
                  "window_signals": self.window.size}
        return [Finding(self.metric, lead, self.margin, self.window.size, detail)]

    def gauges(self) -> dict[str, float]:
        return {}

    def state(self) -> dict:
        return {"window": self.window.state(), "gate": self.gate.state()}

    def restore(self, state: dict) -> None:
        self.window.restore(state["window"])
        self.gate.restore(state["gate"])

    @classmethod
    def calibrate(cls, sample: CalibrationSample) -> dict:
        shares = np.stack([s for s in (measures.shares(e.features) for e in sample.explanations) if s is not None])
        return {"feature_shares": shares.mean(0).tolist()}
