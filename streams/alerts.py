"""Stage ``alert``: explained signals in, explanation-drift and stability ``Alert`` records out.

``AlertEngine`` is pure (no Kafka, no clock: ``now_ms`` is passed in) and runs
the detectors of ``streams.drift`` per symbol and for ``'*'`` (all symbols
this worker sees) against the model version's training reference
(``models/cards/<version>.reference.json``, written by
``tickscope calibrate-alerts``). ``add_alert_agent`` wires it as a thin Faust
agent on the explanations topic that publishes to the alerts topic, key =
``alert_id``. Kinds, thresholds and their calibration: docs/alerts.md.

Delivery is at-least-once, so input is de-duplicated by ``signal_id`` and
``alert_id`` is deterministic (kind, metric, symbol and the signal that
tripped the detector): a replay raises the same ids.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass, fields

import numpy as np

from streams import drift, metrics
from streams.ingest import now_ms
from streams.records import Alert, ArchiveRecord
from tickscope.settings import Settings

log = logging.getLogger("tickscope.alerts")
STAGE_ID = "alert"
ALL = "*"
FAITHFULNESS_K_INDEX = 0  # quality.faithfulness[0]: the top-8-cell deletion test


def _setting_default(name: str):
    """The default of ``TICKSCOPE_ALERT_<NAME>``: thresholds have one source, ``tickscope.settings``."""
    return Settings.model_fields[f"alert_{name}"].default


@dataclass(frozen=True)
class AlertParams:
    """Detector thresholds; defaults, units and env names in ``tickscope.settings`` (``TICKSCOPE_ALERT_*``)."""

    window_signals: int = _setting_default("window_signals")
    js_feature: float = _setting_default("js_feature")
    js_segment: float = _setting_default("js_segment")
    rearm_fraction: float = _setting_default("rearm_fraction")
    cooldown_signals: int = _setting_default("cooldown_signals")
    rank_margin: float = _setting_default("rank_margin")
    cusum_k: float = _setting_default("cusum_k")
    cusum_h: float = _setting_default("cusum_h")
    stability_factor: float = _setting_default("stability_factor")
    lipschitz_factor: float = _setting_default("lipschitz_factor")
    lipschitz_history: int = _setting_default("lipschitz_history")
    dedup_capacity: int = _setting_default("dedup_capacity")

    @classmethod
    def from_settings(cls, settings) -> "AlertParams":
        return cls(**{f.name: getattr(settings, f"alert_{f.name}") for f in fields(cls)})


def alert_id_for(kind: str, metric: str, symbol: str, signal_id: str) -> str:
    """32 hex chars of sha256: the same tripping signal always gives the same alert id."""
    return hashlib.sha256(f"{kind}|{metric}|{symbol}|{signal_id}".encode("utf-8")).hexdigest()[:32]


class KeyState:
    """Detector state of one symbol, or of ``'*'``."""

    def __init__(self, key: str, reference: dict, p: AlertParams):
        self.evidence: deque[tuple[str, int]] = deque(maxlen=4 * p.window_signals)  # (signal_id, ts)
        self.features = drift.ShareWindow(p.window_signals)
        self.segments = drift.ShareWindow(p.window_signals)
        self.gates: dict[str, drift.Hysteresis] = {}
        self.cusums = {
            name: drift.Cusum(reference[name]["mean"], reference[name]["std"], p.cusum_k, p.cusum_h)
            for name in ("faithfulness", "attention_shap_spearman")
        }
        lip = reference["lipschitz"]
        self.neighbours = drift.NeighbourStability(lip["radius"], p.lipschitz_history) if key != ALL else None

    def gate(self, metric: str, threshold: float, p: AlertParams) -> drift.Hysteresis:
        if metric not in self.gates:
            self.gates[metric] = drift.Hysteresis(threshold, p.rearm_fraction * threshold, p.cooldown_signals)
        return self.gates[metric]


class AlertEngine:
    """Runs every detector on each new explanation; returns the alerts it raises."""

    def __init__(self, reference: dict, params: AlertParams = AlertParams(), model_version: str | None = None):
        self.reference, self.p, self.model_version = reference, params, model_version
        self.ref_features = np.asarray(reference["feature_shares"], dtype=np.float64)
        self.ref_segments = np.asarray(reference["segment_shares"], dtype=np.float64)
        self.states: dict[str, KeyState] = {}
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.values: dict[tuple[str, str], float] = {}  # (metric, key) -> last value, for gauges
        self.duplicates = 0

    def observe(self, record: ArchiveRecord, now_ms: int) -> list[Alert]:
        """Alerts raised by this explanation ([] for a re-delivered signal_id)."""
        if record.signal_id in self.seen:
            self.duplicates += 1
            return []
        self.seen[record.signal_id] = None
        while len(self.seen) > self.p.dedup_capacity:
            self.seen.popitem(last=False)
        out: list[Alert] = []
        for key in (record.symbol, ALL):
            state = self.states.get(key) or self.states.setdefault(key, KeyState(key, self.reference, self.p))
            state.evidence.append((record.signal_id, record.ts))
            out += self._drift(key, state, record, now_ms)
            out += self._faithfulness(key, state, record, now_ms)
            if state.neighbours is not None:
                out += self._stability(key, state, record, now_ms)
        return out

    def _drift(self, key: str, st: KeyState, rec: ArchiveRecord, now: int) -> list[Alert]:
        """Jensen-Shannon of windowed mean shares vs reference, and a change of the top feature."""
        f, g = drift.shares(rec.feature_attributions), drift.shares(rec.event_attributions)
        if f is None or g is None:
            return []
        st.features.push(f)
        st.segments.push(g)
        if not st.features.full:
            return []
        mf, mg = st.features.mean(), st.segments.mean()
        js_f, js_g = drift.jensen_shannon(mf, self.ref_features), drift.jensen_shannon(mg, self.ref_segments)
        top, ref_top = drift.ranking(mf)[0], drift.ranking(self.ref_features)[0]
        lead = float(mf[top] - mf[ref_top]) if top != ref_top else 0.0
        self.values[("js_feature", key)], self.values[("js_segment", key)] = js_f, js_g
        names = list(rec.feature_names)
        detail = {
            "feature_shares": dict(zip(names, np.round(mf, 4).tolist())),
            "reference_feature_shares": dict(zip(names, np.round(self.ref_features, 4).tolist())),
            "segment_shares": np.round(mg, 4).tolist(),
            "reference_segment_shares": np.round(self.ref_segments, 4).tolist(),
            "psi_feature": drift.psi(mf, self.ref_features),
            "wasserstein_segment_steps": drift.wasserstein_positions(mg, self.ref_segments) * (32 / len(mg)),
            "top_features": [names[i] for i in drift.ranking(mf)],
            "reference_top_features": [names[i] for i in drift.ranking(self.ref_features)],
            "window_signals": self.p.window_signals,
        }
        n = self.p.window_signals
        checks = [
            ("attribution_drift", "jensen_shannon_feature_share", js_f, self.p.js_feature),
            ("segment_drift", "jensen_shannon_segment_share", js_g, self.p.js_segment),
            ("rank_change", "top_feature_share_lead", lead, self.p.rank_margin),
        ]
        return [self._raise(kind, metric, key, st, rec, now, value, thr, n, detail)
                for kind, metric, value, thr in checks if st.gate(metric, thr, self.p).step(value)]

    def _faithfulness(self, key: str, st: KeyState, rec: ArchiveRecord, now: int) -> list[Alert]:
        """Page's CUSUM on deletion faithfulness (top-8 cells) and on attention-SHAP rank agreement."""
        faith = (rec.quality.get("faithfulness") or [None])[FAITHFULNESS_K_INDEX]
        out = []
        for name, x in (("faithfulness", faith), ("attention_shap_spearman", rec.attention_shap_spearman)):
            cusum = st.cusums[name]
            fired = cusum.step(x)
            self.values[(f"cusum_{name}", key)] = cusum.s
            metric = f"cusum_{name}"
            if st.gate(metric, 0.5, self.p).step(1.0 if fired else 0.0):
                span = max(1, min(cusum.n - (cusum.start or cusum.n) + 1, len(st.evidence)))
                ref = self.reference[name]
                detail = {"reference_mean": ref["mean"], "reference_std": ref["std"], "k": cusum.k, "h": cusum.h}
                out.append(self._raise("faithfulness_decay", metric, key, st, rec, now, cusum.h, cusum.h, span,
                                       detail, severity="warning"))
        return out

    def _stability(self, key: str, st: KeyState, rec: ArchiveRecord, now: int) -> list[Alert]:
        """Per-signal local Lipschitz estimate, and the ratio against recent near-identical inputs."""
        out = []
        ref = self.reference
        stab = rec.quality.get("stability")
        stab_thr = self.p.stability_factor * ref["stability"]["max"]
        if st.gate("quality_stability", stab_thr, self.p).step(stab):
            out.append(self._raise("instability", "quality_stability", key, st, rec, now, stab, stab_thr, 1,
                                   {"reference_max": ref["stability"]["max"]}))
        ratio, other = st.neighbours.step(np.asarray(rec.window), np.asarray(rec.feature_attributions), rec.signal_id)
        self.values[("lipschitz", key)] = ratio or 0.0
        lip_thr = self.p.lipschitz_factor * ref["lipschitz"]["max_ratio"]
        if st.gate("neighbour_lipschitz_ratio", lip_thr, self.p).step(ratio):
            detail = {"neighbour": other, "radius": ref["lipschitz"]["radius"], "reference_max": ref["lipschitz"]["max_ratio"]}
            out.append(self._raise("instability", "neighbour_lipschitz_ratio", key, st, rec, now, ratio, lip_thr, 1,
                                   detail))
        return out

    def _raise(self, kind, metric, key, st: KeyState, rec: ArchiveRecord, now, value, threshold, span, detail,
               severity=None) -> Alert:
        evidence = list(st.evidence)[-span:]
        if severity is None:
            severity = "critical" if value >= 2 * threshold else "warning"
        return Alert(
            alert_id=alert_id_for(kind, metric, key, rec.signal_id), kind=kind, symbol=key,
            started_at=evidence[0][1], raised_at=now, severity=severity, metric=metric, value=float(value),
            threshold=float(threshold), evidence=[sid for sid, _ in evidence], detail=detail,
            model_version=self.model_version,
        )


def export_gauges(engine: AlertEngine) -> None:
    """Copy the engine's last values into the Prometheus gauges."""
    for (metric, key), value in engine.values.items():
        if metric.startswith("js_"):
            metrics.DRIFT_JS.labels(key, metric[3:]).set(value)
        elif metric.startswith("cusum_"):
            metrics.FAITHFULNESS_CUSUM.labels(key, metric[6:]).set(value)
        elif metric == "lipschitz":
            metrics.EXPLANATION_LIPSCHITZ.labels(key).set(value)


def _alerts_for(engine, event) -> list:
    """The alerts one archive message raises; an unreadable message is counted and skipped."""
    try:
        record = ArchiveRecord.from_json(event.message.value)
    except Exception as exc:  # the archive topic is not ours to police: count and skip
        metrics.STAGE_ERRORS.labels(STAGE_ID).inc()
        log.warning("alert: unreadable explanation at offset %s: %s", event.message.offset, exc)
        return []
    before = engine.duplicates
    alerts = engine.observe(record, now_ms())
    metrics.ALERT_DUPLICATES.inc(engine.duplicates - before)
    return alerts


def add_alert_agent(app, settings, model):
    """Register the ``alert`` agent (explanations -> alerts); None when alerts are disabled."""
    if not settings.alert_enabled:
        return None
    from tickscope.commands.calibrate_alerts import reference_for

    engine = AlertEngine(reference_for(model, settings.data_dir), AlertParams.from_settings(settings), model.version)
    source = app.topic(settings.topic_explanations, key_serializer="raw", value_serializer="raw")
    sink = app.topic(settings.topic_alerts, key_serializer="raw", value_serializer="raw")

    @app.agent(source, name="alert")
    async def alert(stream):
        manual = stream.noack()  # events() would ack in a ``finally`` even when cancelled mid-event
        async for event in manual.events():
            for a in _alerts_for(engine, event):
                metrics.ALERTS.labels(a.kind, a.severity).inc()
                await (await sink.send(key=a.alert_id.encode(), value=a.to_json()))
            await manual.ack(event)  # only after its alerts are on the broker
            export_gauges(engine)

    return alert
