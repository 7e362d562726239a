"""Detector ``faithfulness_decay``: the explanations stopped describing the model as well as they did.

Two sequences are watched with Page's (1954) one-sided lower CUSUM
(``measures.Cusum``, in sigmas of the training reference): the deletion
faithfulness of the top 8 cells (``quality.faithfulness[0]``: removing the
cells the explanation ranks highest should move the score more than removing
random ones) and the rank agreement of attention with the event-level SHAP
(``attention_shap_spearman``). A sustained fall of either raises one alert.
Each has its own decision interval h (``cusum_h``, ``cusum_h_attention``):
their in-control behaviour on real data differs (docs/alerts.md).
A sequence the reference has no figures for (attention agreement of a model
without attention) is not watched.
"""

from __future__ import annotations

import numpy as np

from tickscope.contracts.records import ArchiveRecord
from tickscope.detectors import measures
from tickscope.detectors.protocol import AlertParams, CalibrationSample, Finding, register

FAITHFULNESS_K_INDEX = 0  # quality.faithfulness[0]: the top-8-cell deletion test
SEQUENCES = ("faithfulness", "attention_shap_spearman")
FIRED = 1.0  # the gate watches "did the CUSUM alarm" as 1.0 / 0.0 against 0.5
DECISION_INTERVALS = {"faithfulness": "cusum_h", "attention_shap_spearman": "cusum_h_attention"}  # h of each


def _value(record: ArchiveRecord, name: str) -> float | None:
    if name == "faithfulness":
        return (record.quality.get("faithfulness") or [None])[FAITHFULNESS_K_INDEX]
    return record.attention_shap_spearman


def _mean_std(values) -> dict:
    """Mean and sample std of the defined values; None for both when fewer than two (nothing to watch)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if len(v) < 2:
        return {"mean": None, "std": None, "n": int(len(v))}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)), "n": int(len(v))}


@register
class FaithfulnessDecay:
    kind = "faithfulness_decay"
    params = ("cusum_k", "cusum_h", "cusum_h_attention", "rearm_fraction", "cooldown_signals")
    symbol_only = False

    def __init__(self, reference: dict, params: AlertParams):
        watched = [name for name in SEQUENCES if reference[name].get("mean") is not None]
        self.reference = {name: reference[name] for name in watched}
        self.cusums = {name: measures.Cusum(reference[name]["mean"], reference[name]["std"], params.cusum_k,
                                            params[DECISION_INTERVALS[name]]) for name in watched}
        self.gates = {name: measures.Hysteresis(FIRED / 2, params.rearm_fraction * FIRED / 2, params.cooldown_signals)
                      for name in watched}

    def observe(self, record: ArchiveRecord) -> list[Finding]:
        out = []
        for name in self.cusums:
            cusum = self.cusums[name]
            fired = cusum.step(_value(record, name))
            if self.gates[name].step(FIRED if fired else 0.0):
                span = max(1, cusum.n - (cusum.start or cusum.n) + 1)
                ref = self.reference[name]
                detail = {"reference_mean": ref["mean"], "reference_std": ref["std"], "k": cusum.k, "h": cusum.h}
                out.append(Finding(f"cusum_{name}", cusum.h, cusum.h, span, detail, severity="warning"))
        return out

    def gauges(self) -> dict[str, float]:
        return {f"cusum_{name}": cusum.s for name, cusum in self.cusums.items()}

    def state(self) -> dict:
        return {name: {"cusum": self.cusums[name].state(), "gate": self.gates[name].state()} for name in self.cusums}

    def restore(self, state: dict) -> None:
        for name in self.cusums:
            self.cusums[name].restore(state[name]["cusum"])
            self.gates[name].restore(state[name]["gate"])

    @classmethod
    def calibrate(cls, sample: CalibrationSample) -> dict:
        faith = ((e.quality.get("faithfulness") or [None])[FAITHFULNESS_K_INDEX] for e in sample.explanations)
        return {"faithfulness": _mean_std(faith),
                "attention_shap_spearman": _mean_std(e.attention_shap_spearman for e in sample.explanations)}
