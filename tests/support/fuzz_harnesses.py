"""Per-consumer fuzz harnesses: one message through a consumer's real per-message path, in-process.

A harness factory returns a fresh ``Harness`` (state as after a stretch of
real EURUSD input, so hostile messages meet a consumer that has history):
``run(value, key)`` runs the consumer's own code on one message and returns
what it made of it (``Ran``); ``snapshot()`` returns the consumer's state in
a comparable form, so a test can assert that a rejected message changed
nothing. The expensive parts (the model, the reference, the warm-up) are
built once per process and copied for each harness.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tickscope.contracts.dead_letters import Source
from tickscope.contracts.records import DeadLetter

WARM_TICKS = 400  # real EURUSD ticks a detect harness has seen: full windows, so fuzzed ticks get scored
WARM_RECORDS = 30  # real EURUSD explanations an alert harness has observed (of 44)


@dataclass
class Ran:
    """What a consumer made of one message: dead letters, output records, and whether it applied it to state."""

    dead_letters: list[DeadLetter] = field(default_factory=list)
    outputs: list = field(default_factory=list)  # wire records (Signal, ArchiveRecord, Alert)
    applied: bool = False  # False: the consumer's state must be exactly as before


@dataclass
class Harness:
    """One consumer's per-message path, its state, valid messages to start mutating from, and its size budget."""

    name: str
    run: Callable[[bytes | None, bytes | None], Ran]
    snapshot: Callable[[], object]
    seeds: list[tuple[bytes, bytes | None]]  # valid (value, key) messages of this consumer's input topic
    max_bytes: int  # the largest message worth generating for this input (its size limit)
    bug_reasons: frozenset[str] = frozenset()  # dead-letter reasons that mean the consumer's own checks missed


@functools.lru_cache(maxsize=1)
def _model():
    import torch

    from tickscope.models import registry

    torch.set_num_threads(1)
    return registry.load()


@functools.lru_cache(maxsize=1)
def _eurusd_records() -> tuple:
    from tickscope.marketdata.sources import load_source
    from tickscope.streams.offline import explain_series

    return tuple(explain_series(_model(), load_source("eurusd"), "EURUSD"))


def _frozen(a) -> tuple:
    a = np.asarray(a)
    return a.dtype.str, a.shape, a.tobytes()


# ---- detect -----------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _warm_detector():
    from tickscope.marketdata.sources import load_source
    from tickscope.streams.detect import Batch, SignalDetector
    from tickscope.streams.offline import tick_messages

    detector = SignalDetector(_model(), cooldown_ticks=8, max_message_bytes=4096, max_array_bytes=262_144,
                              capacity=64)
    rows = load_source("eurusd")
    messages = tick_messages("EURUSD", rows[:WARM_TICKS])
    for start in range(0, len(messages), 128):
        detector.process(Batch.of(messages[start:start + 128]), 0)
    seeds = [(m.value, m.key) for m in tick_messages("EURUSD", rows[WARM_TICKS:WARM_TICKS + 8], WARM_TICKS)]
    return detector, seeds


def detect() -> Harness:
    """``SignalDetector.process`` on a one-message batch; state = its windows' arrays and index."""
    from tickscope.streams.detect import Batch, Message, SignalDetector

    warm, seeds = _warm_detector()
    detector = SignalDetector(_model(), warm.cooldown_ticks, warm.decoder.max_bytes, warm.decoder.max_array_bytes,
                              warm.windows.capacity)
    detector.windows = copy.deepcopy(warm.windows)

    def run(value, key) -> Ran:
        outcome = detector.process(Batch.of([Message(key, value, 0, WARM_TICKS)]), 0)
        valid = outcome.accepted + sum(outcome.dropped.values()) + outcome.replayed
        return Ran(list(outcome.dead_letters), list(outcome.signals), applied=valid > 0)

    def snapshot():
        w = detector.windows
        return {name: _frozen(v) if isinstance(v, np.ndarray) else copy.deepcopy(v)
                for name, v in vars(w).items() if name not in ("clock", "seen")}

    return Harness("detect", run, snapshot, seeds, max_bytes=262_144)


# ---- explain ----------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _explaining():
    from tickscope.explainer.baseline_shapley import ExplainConfig
    from tickscope.marketdata.sources import load_source
    from tickscope.streams.explain import Explaining
    from tickscope.streams.offline import detect as detect_offline
    from tickscope.streams.offline import tick_messages

    explaining = Explaining.for_model(_model(), ExplainConfig(threads=1))
    signals = detect_offline(tick_messages("EURUSD", load_source("eurusd")[:1500]), _model()).signals
    return explaining, [(s.to_json(), s.symbol.encode()) for s in signals[:6]]


def explain() -> Harness:
    """``explain_message``; the stage has no state, so the snapshot is the model and baseline it explains with."""
    from tickscope.streams.explain import explain_message

    explaining, seeds = _explaining()

    def run(value, key) -> Ran:
        result = explain_message(value, key, Source("signals", 0, 0), explaining)
        return Ran([result]) if isinstance(result, DeadLetter) else Ran(outputs=[result])

    def snapshot():
        digest = hashlib.sha256(explaining.baseline.tobytes())
        for tensor in explaining.model.net.state_dict().values():
            digest.update(tensor.numpy().tobytes())
        return digest.hexdigest()

    return Harness("explain", run, snapshot, seeds, max_bytes=1 << 20)


# ---- alert ------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _warm_engine():
    from tickscope.detectors.reference import reference_for
    from tickscope.streams.alert import AlertEngine

    records = _eurusd_records()
    engine = AlertEngine(reference_for(_model()), model_version=_model().version)
    for offset, record in enumerate(records[:WARM_RECORDS]):
        engine.process(record.to_json(), record.symbol.encode(), Source("explanations", 0, offset), record.ts)
    engine.take_changes()
    return engine, [(r.to_json(), r.symbol.encode()) for r in records[WARM_RECORDS:]]


def alert() -> Harness:
    """``AlertEngine.process`` (decode and check inside isolate, then the detectors), then the changelog
    records of what it changed; state = every key's changelog form, the seen signal_ids and pending changes."""
    from tickscope.streams.state import encode_state

    warm, seeds = _warm_engine()
    engine = copy.deepcopy(warm)
    offsets = iter(range(WARM_RECORDS, 1 << 62))

    def run(value, key) -> Ran:
        outcome = engine.process(value, key, Source("explanations", 0, next(offsets)), 1)
        if outcome.dead_letter is not None:
            return Ran([outcome.dead_letter])
        applied = outcome.skipped is None
        if applied:  # what the agent writes next must be writable
            for k, partition, offset, state in engine.take_changes():
                encode_state(k, partition, offset, state)
        return Ran(outputs=list(outcome.alerts), applied=applied)

    def snapshot():
        import json

        states = {k: (s.partition, s.applied, json.dumps(s.state(), sort_keys=True)) for k, s in engine.states.items()}
        return states, list(engine.seen.items()), sorted(engine.changed), list(engine.evicted)

    return Harness("alert", run, snapshot, seeds, max_bytes=1 << 20, bug_reasons=frozenset({"alert_error"}))
