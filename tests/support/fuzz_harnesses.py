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
    resources: tuple = ()  # what must live as long as the harness (a temporary archive directory)


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


# ---- archiver ---------------------------------------------------------------------------------------------------
WARM_ARCHIVED = 10  # real EURUSD records already in the archive a fuzzed message meets


def archiver() -> Harness:
    """``Store.append_batch`` (intake inside isolate, then the log) on a fresh SQLite archive holding real records;
    state = the log: its size, its last signed head and every record's leaf hash."""
    import tempfile
    from pathlib import Path

    from tests.support.archives import signer_in
    from tickscope.audit.archive_store import Incoming, open_store
    from tickscope.audit.intake import intake

    records = _eurusd_records()
    folder = tempfile.TemporaryDirectory(prefix="tickscope-fuzz-archive-")
    store = open_store(Path(folder.name) / "archive.sqlite", read_only=False)
    signer = signer_in(Path(folder.name))
    offsets = iter(range(1 << 62))

    def append(value, key) -> tuple[object, str]:
        offset = next(offsets)
        item = Incoming(value, key, f"explanations/0@{offset}")
        return store.append_batch([item], {("explanations", 0): offset + 1}, signer, 1_700_000_000_000), offset

    for r in records[:WARM_ARCHIVED]:
        append(r.to_json(), r.symbol.encode())

    def run(value, key) -> Ran:
        result, offset = append(value, key)
        if not result.rejected:
            return Ran(applied=result.appended > 0)
        letter = intake(value, key, Source("explanations", 0, offset))  # the same pure check, as a dead letter
        stored = store.rejected()[-1]
        if not isinstance(letter, DeadLetter) or stored["reason"] != letter.reason:
            raise AssertionError(f"the rejected table says {stored['reason']}, intake says {letter!r}")
        return Ran([letter])

    def snapshot():
        heads = store.heads()
        return store.count(), heads[-1].signed_fields() if heads else None, [r.leaf_hash for r in store.records()]

    return Harness("archiver", run, snapshot, [(r.to_json(), r.symbol.encode()) for r in records[WARM_ARCHIVED:]],
                   max_bytes=1 << 20, bug_reasons=frozenset({"archiver_error"}), resources=(folder, store))


# ---- dashboard reader -------------------------------------------------------------------------------------------
def _dashboard(kind: str, topic: str, seeds: list) -> Harness:
    """``Store.add_raw`` (decode inside isolate, then the store) for one of the reader's topics, on a store that
    holds real EURUSD prices and records; state = everything the pages are drawn from."""
    from tickscope.dashboard.live_store import Store

    store = Store(max_points=1000)
    for value, key in _dashboard_warm():
        store.add_raw(*value, key)
    offsets = iter(range(1 << 62))

    def run(value, key) -> Ran:
        before = len(store.dead_letters)
        kept = store.add_raw(kind, value, key, Source(topic, 0, next(offsets)))
        return Ran(list(store.dead_letters)[before:] if len(store.dead_letters) > before else [], applied=kept)

    def snapshot():
        return (store.symbols(), {s: store.prices(s) for s in store.symbols()}, store.records(), store.alerts(),
                store.version, store.records_version, store.alerts_version, store.arrival_seq)

    return Harness(f"dashboard-{topic}", run, snapshot, seeds, max_bytes=1 << 20,
                   bug_reasons=frozenset({"dashboard_error"}))


@functools.lru_cache(maxsize=1)
def _dashboard_warm() -> tuple:
    """((kind, value), key) messages of real EURUSD ticks and explanations, and one alert, to seed a store."""
    from bench import synthetic
    from tickscope.marketdata.feed import tick_json
    from tickscope.marketdata.sources import load_source

    rows = load_source("eurusd")
    ticks = [(("ticks", tick_json("EURUSD", r)), b"EURUSD") for r in rows[:300]]
    records = [(("records", r.to_json()), r.symbol.encode()) for r in _eurusd_records()[:10]]
    alert = synthetic.alert_json("al-0", "rank_change", "EURUSD", [_eurusd_records()[0].signal_id], rows[0].ts,
                                 rows[0].ts)
    return tuple(ticks + records + [(("alerts", alert), b"EURUSD")])


def dashboard_ticks() -> Harness:
    from tickscope.marketdata.feed import tick_json
    from tickscope.marketdata.sources import load_source

    rows = load_source("eurusd")[300:306]
    return _dashboard("ticks", "ticks", [(tick_json("EURUSD", r), b"EURUSD") for r in rows])


def dashboard_explanations() -> Harness:
    return _dashboard("records", "explanations", [(r.to_json(), r.symbol.encode()) for r in _eurusd_records()[10:16]])


def dashboard_alerts() -> Harness:
    from bench import synthetic

    sid = _eurusd_records()[12].signal_id
    seeds = [(synthetic.alert_json(f"al-seed-{i}", kind, symbol, [sid], 1_700_000_000_000, 1_700_000_000_000), None)
             for i, (kind, symbol) in enumerate([("attribution_drift", "EURUSD"), ("rank_change", "*")])]
    return _dashboard("alerts", "alerts", seeds)
