"""Stage ``alert``: explained signals in, explanation-drift and stability ``Alert`` records out.

``AlertEngine`` is pure (no Kafka, no clock: ``now_ms`` is passed in). For
each explanation it runs every registered detector (``tickscope.detectors``)
for the explanation's symbol and for ``'*'`` (all symbols this engine sees),
against the model version's training reference
(``tickscope.detectors.reference``). Kinds, thresholds and their calibration:
docs/alerts.md.

Delivery is at-least-once, so input is de-duplicated by ``signal_id`` and
``alert_id`` is deterministic (kind, metric, symbol and the signal that
tripped the detector): a replay raises the same ids.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from tickscope.contracts.ids import alert_id_for
from tickscope.contracts.records import Alert, ArchiveRecord
from tickscope.detectors.protocol import AlertParams, Detector, Finding, registered

STAGE_ID = "alert"
ALL = "*"
EVIDENCE_WINDOWS = 4  # evidence kept per key, in multiples of window_signals


class KeyState:
    """The detectors of one symbol, or of ``'*'``, and the recent signals that are their evidence."""

    def __init__(self, key: str, reference: dict, params: AlertParams, detectors: list[type[Detector]]):
        self.evidence: deque[tuple[str, int]] = deque(maxlen=EVIDENCE_WINDOWS * params.window_signals)
        self.detectors = [cls(reference, params) for cls in detectors if key != ALL or not cls.symbol_only]


class AlertEngine:
    """Runs every detector on each new explanation; returns the alerts it raises."""

    def __init__(self, reference: dict, params: AlertParams | None = None, model_version: str | None = None,
                 detectors: list[type[Detector]] | None = None):
        self.reference, self.p, self.model_version = reference, params or AlertParams(), model_version
        self.detectors = registered() if detectors is None else list(detectors)
        self.states: dict[str, KeyState] = {}
        self.seen: OrderedDict[str, None] = OrderedDict()
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
            state = self.states.get(key)
            if state is None:
                state = self.states[key] = KeyState(key, self.reference, self.p, self.detectors)
            state.evidence.append((record.signal_id, record.ts))
            for detector in state.detectors:
                out += [self._alert(detector.kind, f, key, state, record, now_ms) for f in detector.observe(record)]
        return out

    def gauges(self) -> dict[tuple[str, str], float]:
        """(statistic, key) -> its latest value, over every detector of every key."""
        return {(name, key): value for key, state in self.states.items()
                for detector in state.detectors for name, value in detector.gauges().items()}

    def _alert(self, kind: str, finding: Finding, key: str, state: KeyState, rec: ArchiveRecord, now: int) -> Alert:
        evidence = list(state.evidence)[-finding.span:]
        severity = finding.severity or ("critical" if finding.value >= 2 * finding.threshold else "warning")
        return Alert(
            alert_id=alert_id_for(kind, finding.metric, key, rec.signal_id), kind=kind, symbol=key,
            started_at=evidence[0][1], raised_at=now, severity=severity, metric=finding.metric,
            value=float(finding.value), threshold=float(finding.threshold), evidence=[sid for sid, _ in evidence],
            detail=finding.detail, model_version=self.model_version,
        )


def alerts_over(records: list[ArchiveRecord], reference: dict, params: AlertParams | None = None) -> list:
    """(index of the record that raised it, Alert) for every alert of a fresh engine over ``records``, in order,
    stamped with each record's ts as its clock: the offline run of this stage (calibration, benchmarks, tests)."""
    engine = AlertEngine(reference, params)
    return [(i, a) for i, rec in enumerate(records) for a in engine.observe(rec, rec.ts)]
