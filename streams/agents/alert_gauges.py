"""The alert stage's statistics as Prometheus gauges, with a bounded number of label sets.

``tickscope_drift_jensen_shannon``, ``tickscope_faithfulness_cusum`` and
``tickscope_explanation_lipschitz_ratio`` carry a ``symbol`` label. A label
set per symbol would grow with every symbol the stream ever names, so:

- at most ``cap`` symbols (``TICKSCOPE_ALERT_GAUGE_SYMBOLS``) are exported:
  the first ones seen take the slots, each keeps its slot until its state
  leaves the engine (evicted, or its partition moved to another worker), when
  its series are removed and the slot goes to the next symbol observed;
- ``symbol="*"`` is always exported: per statistic, the largest value over
  the ``'*'`` detectors of this worker's partitions (each watches the symbols
  of one partition of ``explanations`` together), so every symbol is covered.

A symbol without a slot is still watched: its detectors run and raise alerts.
"""

from __future__ import annotations

from tickscope import metrics
from tickscope.streams.alert import ALL, AlertEngine

GAUGES = {"js_feature": ("DRIFT_JS", "feature"), "js_segment": ("DRIFT_JS", "segment"),
          "cusum_faithfulness": ("FAITHFULNESS_CUSUM", "faithfulness"),
          "cusum_attention_shap_spearman": ("FAITHFULNESS_CUSUM", "attention_shap_spearman"),
          "lipschitz": ("EXPLANATION_LIPSCHITZ", None)}


class GaugeExport:
    """Which symbols have gauge series, and the label sets each one has set."""

    def __init__(self, cap: int):
        self.cap = cap
        self.series: dict[str, set[tuple[str, tuple[str, ...]]]] = {}  # symbol -> {(gauge, label values)}

    def export(self, engine: AlertEngine, keys) -> None:
        """Set the gauges of the symbols among ``keys`` that have (or get) a slot, and of ``'*'``."""
        for key in keys:
            if key.startswith(ALL) or key not in engine.states:
                continue
            if key not in self.series and len(self.series) >= self.cap:
                continue
            labels = self.series.setdefault(key, set())
            for (name, _), value in engine.gauges([key]).items():
                if name in GAUGES:
                    labels.add(_set(name, key, value))
        worst: dict[str, float] = {}
        for (name, _), value in engine.gauges([k for k in engine.states if k.startswith(ALL)]).items():
            worst[name] = max(value, worst.get(name, value))
        for name, value in worst.items():
            if name in GAUGES:
                _set(name, ALL, value)

    def forget_missing(self, engine: AlertEngine) -> None:
        """Remove the series of exported symbols whose state has left the engine; their slots become free."""
        for symbol in [s for s in self.series if s not in engine.states]:
            for gauge, values in self.series.pop(symbol):
                getattr(metrics, gauge).remove(*values)


def _set(name: str, symbol: str, value: float) -> tuple[str, tuple[str, ...]]:
    """Set one statistic's gauge; returns (gauge attribute, label values) so the series can be removed."""
    gauge, level = GAUGES[name]
    values = (symbol,) if level is None else (symbol, level)
    getattr(metrics, gauge).labels(*values).set(value)
    return gauge, values
