"""Stage ``alert``: explained signals in, explanation-drift and stability ``Alert`` records out.

``AlertEngine`` is pure (no Kafka, no clock: ``now_ms`` is passed in). For
each explanation it runs every registered detector (``tickscope.detectors``)
for the explanation's symbol and for ``'*'``, against the model version's
training reference (``tickscope.detectors.reference``). Kinds, thresholds and
their calibration: docs/alerts.md.

Keys: a symbol's state is its own; ``'*'`` watches the symbols of one
partition of ``explanations`` together, under the internal key ``*#<partition>``
(its alerts say symbol ``'*'``). ``explanations`` is keyed by symbol, so every
key's records arrive in one partition in the order their signals were
produced, and a key's state depends on nothing else: it is deterministic and
can be saved and restored (``state_of`` / ``load``) through a changelog.

Per message (``process``): decode and check inside ``isolate`` (a rejected
message becomes a dead letter and changes nothing), skip what is not new, then
observe. Not new: an offset at or below the key's ``applied`` offset (already in
its saved state), a signal_id seen before, or a ts not after the symbol's last
one (a re-delivery; signal_id is a function of symbol, ts and model version).
``alert_id`` is deterministic (kind, metric, symbol and the signal that
tripped the detector), so a replay raises the same ids.

Bounded memory: at most ``max_symbols`` symbol keys; beyond it the least
recently seen is evicted (``take_changes`` reports its tombstone).
"""

from __future__ import annotations

import copy
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field

from tickscope.contracts.dead_letters import DETAIL_CHARS, Rejected, Source, dead_letter, isolate
from tickscope.contracts.ids import alert_id_for
from tickscope.contracts.records import Alert, ArchiveRecord, DeadLetter
from tickscope.detectors.protocol import AlertParams, Detector, Finding, registered
from tickscope.streams.alert_input import Expected, Skipped, read_explanation

STAGE_ID = "alert"
ALL = "*"
EVIDENCE_WINDOWS = 4  # evidence kept per key, in multiples of window_signals


def all_key(partition: int) -> str:
    """The internal key of the ``'*'`` detectors of one partition of ``explanations``."""
    return f"{ALL}#{partition}"


def symbol_of(key: str) -> str:
    """What an alert of ``key`` says: the symbol, or ``'*'``."""
    return ALL if key.startswith(ALL) else key


class KeyState:
    """The detectors of one symbol, or of ``'*'`` of one partition, and the recent signals that are their evidence."""

    def __init__(self, key: str, partition: int, reference: dict, params: AlertParams,
                 detectors: list[type[Detector]]):
        self.partition = partition
        self.applied = -1  # offset of the last message of ``explanations`` this state includes
        self.evidence: deque[tuple[str, int]] = deque(maxlen=EVIDENCE_WINDOWS * params.window_signals)
        self.detectors = [cls(reference, params) for cls in detectors if not (key.startswith(ALL) and cls.symbol_only)]

    def state(self) -> dict:
        """Everything ``observe`` depends on, as JSON (the changelog form)."""
        return {"detectors": {d.kind: d.state() for d in self.detectors},
                "evidence": [[sid, ts] for sid, ts in self.evidence]}

    def restore(self, state: dict) -> None:
        """Continue where the state was saved (a detector added since starts fresh)."""
        saved = state["detectors"]
        for detector in self.detectors:
            if detector.kind in saved:
                detector.restore(saved[detector.kind])
        self.evidence.clear()
        self.evidence.extend((str(sid), int(ts)) for sid, ts in state["evidence"])


@dataclass
class Outcome:
    """What one message did: alerts, or a dead letter, or the reason it was skipped."""

    alerts: list[Alert] = field(default_factory=list)
    dead_letter: DeadLetter | None = None
    skipped: str | None = None  # model_version, legacy_key, replayed, duplicate, out_of_order


class AlertEngine:
    """Runs every detector on each new explanation; returns the alerts it raises."""

    def __init__(self, reference: dict, params: AlertParams | None = None, model_version: str | None = None,
                 detectors: list[type[Detector]] | None = None):
        self.reference, self.p, self.model_version = reference, params or AlertParams(), model_version
        self.detectors = registered() if detectors is None else list(detectors)
        self.expected = Expected.from_reference(reference)
        self.states: OrderedDict[str, KeyState] = OrderedDict()  # least recently seen first
        self.symbols = 0  # symbol keys among ``states`` (the '*' keys are not counted against the cap)
        self.seen: OrderedDict[str, int] = OrderedDict()  # signal_id -> partition, for de-duplication
        self.changed: set[str] = set()
        self.evicted: list[tuple[str, int, int]] = []  # (key, partition, applied) awaiting a tombstone
        self.counts: Counter = Counter()  # skipped messages by reason, and "evicted"

    @property
    def duplicates(self) -> int:
        return self.counts["duplicate"]

    # ---- one message ----------------------------------------------------------------------------------------
    def read(self, raw: bytes | None, key: bytes | None) -> ArchiveRecord | Skipped:
        """Decode and check one message of ``explanations`` (raises for a message to dead-letter; no state)."""
        return read_explanation(raw, key, self.expected, self.model_version)

    def process(self, raw: bytes | None, key: bytes | None, source: Source, now_ms: int) -> Outcome:
        """One message: its alerts, its dead letter (state unchanged), or why it was skipped."""
        read = isolate(STAGE_ID, raw, key, source, self.read)
        if isinstance(read, DeadLetter):
            return Outcome(dead_letter=read)
        if isinstance(read, Skipped):
            self.counts[read.reason] += 1
            return Outcome(skipped=read.reason)
        keys = (read.symbol, all_key(source.partition))
        before = {k: copy.deepcopy(self.states.get(k)) for k in keys}
        changed_before = {k for k in keys if k in self.changed}
        try:
            result = self._observe(read, now_ms, source.partition, source.offset)
        except Exception as exc:  # noqa: BLE001 - a record that passed the checks must still not stop the stage
            self._put_back(before, changed_before)
            detail = f"{type(exc).__name__}: {exc}"[:DETAIL_CHARS]
            return Outcome(dead_letter=dead_letter(STAGE_ID, raw, key, Rejected(f"{STAGE_ID}_error", detail), source))
        return Outcome(skipped=result) if isinstance(result, str) else Outcome(alerts=result)

    def observe(self, record: ArchiveRecord, now_ms: int, partition: int = 0, offset: int | None = None) -> list:
        """Alerts raised by this explanation ([] for one that is not new)."""
        result = self._observe(record, now_ms, partition, offset)
        return [] if isinstance(result, str) else result

    def _observe(self, record: ArchiveRecord, now_ms: int, partition: int, offset: int | None) -> list[Alert] | str:
        keys = [k for k in (record.symbol, all_key(partition))
                if offset is None or k not in self.states or offset > self.states[k].applied]
        reason = self._not_new(record, keys)
        if reason is not None:
            self.counts[reason] += 1
            return reason
        out: list[Alert] = []
        for key in keys:
            state = self._state(key, partition)
            state.evidence.append((record.signal_id, record.ts))
            for detector in state.detectors:
                out += [self._alert(detector.kind, f, key, state, record, now_ms) for f in detector.observe(record)]
            if offset is not None:
                state.applied = offset
            self.changed.add(key)
        self.seen[record.signal_id] = partition
        while len(self.seen) > self.p.dedup_capacity:
            self.seen.popitem(last=False)
        self._evict_beyond_capacity()
        return out

    def _not_new(self, record: ArchiveRecord, keys: list[str]) -> str | None:
        if not keys:
            return "replayed"
        if record.signal_id in self.seen:
            return "duplicate"
        own = self.states.get(record.symbol)
        if own is not None and own.evidence and record.ts <= own.evidence[-1][1]:
            return "duplicate" if record.ts == own.evidence[-1][1] else "out_of_order"
        return None

    def _put_back(self, before: dict, changed_before: set[str]) -> None:
        """Undo a failed ``_observe``: each key's state as it was (absent keys removed)."""
        for key, state in before.items():
            if state is None:
                self._drop(key)
            else:
                if key not in self.states:
                    self.symbols += not key.startswith(ALL)
                self.states[key] = state
            if key not in changed_before:
                self.changed.discard(key)

    # ---- keys -----------------------------------------------------------------------------------------------
    def _state(self, key: str, partition: int) -> KeyState:
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = KeyState(key, partition, self.reference, self.p, self.detectors)
            self.symbols += not key.startswith(ALL)
        self.states.move_to_end(key)
        return state

    def _drop(self, key: str) -> KeyState | None:
        state = self.states.pop(key, None)
        if state is not None:
            self.symbols -= not key.startswith(ALL)
        return state

    def _evict_beyond_capacity(self) -> None:
        """Least recently seen symbols beyond ``max_symbols`` go; their tombstones wait for ``take_changes``."""
        while self.symbols > self.p.max_symbols:
            key = next(k for k in self.states if not k.startswith(ALL))
            state = self._drop(key)
            self.changed.discard(key)
            self.evicted.append((key, state.partition, state.applied))
            self.counts["evicted"] += 1

    def _alert(self, kind: str, finding: Finding, key: str, state: KeyState, rec: ArchiveRecord, now: int) -> Alert:
        evidence = list(state.evidence)[-finding.span:]
        severity = finding.severity or ("critical" if finding.value >= 2 * finding.threshold else "warning")
        symbol = symbol_of(key)
        return Alert(
            alert_id=alert_id_for(kind, finding.metric, symbol, rec.signal_id), kind=kind, symbol=symbol,
            started_at=evidence[0][1], raised_at=now, severity=severity, metric=finding.metric,
            value=float(finding.value), threshold=float(finding.threshold), evidence=[sid for sid, _ in evidence],
            detail=finding.detail, model_version=self.model_version,
        )

    # ---- state through a changelog --------------------------------------------------------------------------
    def state_of(self, key: str) -> tuple[int, int, dict]:
        """(partition, applied offset, state) of one key, for its changelog record."""
        state = self.states[key]
        return state.partition, state.applied, state.state()

    def load(self, key: str, partition: int, applied: int, saved: dict) -> None:
        """Put a key's saved state in memory (a load beyond ``max_symbols`` evicts the least recently seen).
        A state that does not restore raises, and the key is left absent (it starts afresh)."""
        self._drop(key)
        state = self._state(key, partition)
        try:
            state.restore(saved)
        except Exception:
            self._drop(key)
            raise
        state.applied = applied
        self._evict_beyond_capacity()

    def forget_partition(self, partition: int) -> None:
        """Drop every key of one partition (before its state is loaded again), its pending changes and seen ids."""
        for key in [k for k, s in self.states.items() if s.partition == partition]:
            self._drop(key)
            self.changed.discard(key)
        self.evicted = [e for e in self.evicted if e[1] != partition]
        for sid in [s for s, p in self.seen.items() if p == partition]:
            del self.seen[sid]

    def take_changes(self) -> list[tuple[str, int, int, dict | None]]:
        """(key, partition, applied, state or None for a tombstone) of every key changed or evicted since the
        last call; the caller writes them to the changelog."""
        out = [(key, *self.state_of(key)) for key in sorted(self.changed)]
        out += [(key, partition, applied, None) for key, partition, applied in self.evicted]
        self.changed.clear()
        self.evicted.clear()
        return out

    def gauges(self, keys=None) -> dict[tuple[str, str], float]:
        """(statistic, key) -> its latest value, over every detector of ``keys`` (default: every key)."""
        keys = self.states.keys() if keys is None else [k for k in keys if k in self.states]
        return {(name, key): value for key in keys
                for detector in self.states[key].detectors for name, value in detector.gauges().items()}


def alerts_over(records: list[ArchiveRecord], reference: dict, params: AlertParams | None = None,
                model_version: str | None = None) -> list:
    """(index of the record that raised it, Alert) for every alert of a fresh engine over ``records``, in order,
    stamped with each record's ts as its clock: the offline run of this stage (calibration, benchmarks, tests)."""
    engine = AlertEngine(reference, params, model_version)
    return [(i, a) for i, rec in enumerate(records) for a in engine.observe(rec, rec.ts)]
