"""Detector ``instability``: explanations that jump under changes far smaller than the market's own noise.

Two per-symbol checks (Alvarez-Melis & Jaakkola, *On the robustness of
interpretability methods*, 2018), both in score units per feature unit:

- ``quality_stability``: the explanation's own local Lipschitz estimate
  (``quality.stability``, seeded perturbations of its window) above
  ``stability_factor`` x the largest seen on training windows;
- ``neighbour_lipschitz_ratio``: ``||phi_a - phi_b|| / ||x_a - x_b||`` against
  the symbol's recent explanations whose windows lie within the reference
  radius, above ``lipschitz_factor`` x the training maximum.
"""

from __future__ import annotations

import numpy as np

from tickscope.contracts.records import ArchiveRecord
from tickscope.detectors import measures
from tickscope.detectors.protocol import AlertParams, CalibrationSample, Finding, register

RADIUS_QUANTILE = 0.01  # neighbour radius: this quantile of pairwise input distances among reference windows


def lipschitz_calibration(windows: np.ndarray, phis: np.ndarray, quantile: float = RADIUS_QUANTILE) -> dict:
    """Radius = ``quantile`` of pairwise input distances (feature units); bound = the largest
    ||phi_a - phi_b|| / ||x_a - x_b|| over reference pairs within it (score per feature unit)."""
    x = windows.reshape(len(windows), -1).astype(np.float64)
    d = np.sqrt(np.maximum(((x[:, None] - x[None]) ** 2).sum(-1), 0))
    iu = np.triu_indices(len(x), 1)
    radius = float(np.quantile(d[iu], quantile))
    near = (d[iu] > 0) & (d[iu] < radius)
    dphi = np.linalg.norm(phis[iu[0]] - phis[iu[1]], axis=1)
    ratios = dphi[near] / d[iu][near]
    return {"radius": radius, "max_ratio": float(ratios.max()), "median_ratio": float(np.median(ratios)),
            "pairs": int(near.sum()), "radius_quantile": quantile}


@register
class Instability:
    kind = "instability"
    params = ("stability_factor", "lipschitz_factor", "lipschitz_history", "rearm_fraction", "cooldown_signals")
    symbol_only = True  # neighbours are windows of the same symbol

    def __init__(self, reference: dict, params: AlertParams):
        self.stability_max = float(reference["stability"]["max"])
        self.lipschitz = reference["lipschitz"]
        self.stability_threshold = params.stability_factor * self.stability_max
        self.lipschitz_threshold = params.lipschitz_factor * self.lipschitz["max_ratio"]
        self.neighbours = measures.NeighbourStability(self.lipschitz["radius"], params.lipschitz_history)
        self.stability_gate = self._gate(self.stability_threshold, params)
        self.lipschitz_gate = self._gate(self.lipschitz_threshold, params)
        self.ratio: float | None = None

    @staticmethod
    def _gate(threshold: float, params: AlertParams) -> measures.Hysteresis:
        return measures.Hysteresis(threshold, params.rearm_fraction * threshold, params.cooldown_signals)

    def observe(self, record: ArchiveRecord) -> list[Finding]:
        out = []
        stability = record.quality.get("stability")
        if self.stability_gate.step(stability):
            out.append(Finding("quality_stability", stability, self.stability_threshold, 1,
                               {"reference_max": self.stability_max}))
        self.ratio, other = self.neighbours.step(np.asarray(record.window), np.asarray(record.feature_attributions),
                                                 record.signal_id)
        if self.lipschitz_gate.step(self.ratio):
            detail = {"neighbour": other, "radius": self.lipschitz["radius"],
                      "reference_max": self.lipschitz["max_ratio"]}
            out.append(Finding("neighbour_lipschitz_ratio", self.ratio, self.lipschitz_threshold, 1, detail))
        return out

    def gauges(self) -> dict[str, float]:
        return {"lipschitz": self.ratio or 0.0}

    def state(self) -> dict:
        return {"neighbours": self.neighbours.state(), "stability_gate": self.stability_gate.state(),
                "lipschitz_gate": self.lipschitz_gate.state(), "ratio": self.ratio}

    def restore(self, state: dict) -> None:
        self.neighbours.restore(state["neighbours"])
        self.stability_gate.restore(state["stability_gate"])
        self.lipschitz_gate.restore(state["lipschitz_gate"])
        self.ratio = state["ratio"]

    @classmethod
    def calibrate(cls, sample: CalibrationSample) -> dict:
        stab = np.asarray([e.quality["stability"] for e in sample.explanations
                           if e.quality.get("stability") is not None])
        phis = np.stack([e.features for e in sample.explanations])
        return {"stability": {"max": float(stab.max()), "p99": float(np.quantile(stab, 0.99)),
                              "median": float(np.median(stab))},
                "lipschitz": lipschitz_calibration(sample.windows, phis)}
