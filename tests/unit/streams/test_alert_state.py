"""Alert-detector state: through the changelog a restart continues exactly; '*' is per partition; replays,
re-deliveries and older records are skipped; memory is bounded by least-recently-seen eviction with a tombstone;
a detector that raises anyway leaves the keys as they were."""

from __future__ import annotations

import copy
import json

import pytest

from tickscope.contracts.dead_letters import Source
from tickscope.detectors.protocol import AlertParams, registered
from tickscope.marketdata.regimes import inject
from tickscope.marketdata.sources import load_source
from tickscope.streams.alert import AlertEngine
from tickscope.streams.offline import explain_series
from tickscope.streams.state import encode_state, latest_states


@pytest.fixture(scope="module")
def trend(model):
    """Real EURUSD with a trend from tick 2,500: explanations that raise alerts."""
    return explain_series(model, inject(load_source("eurusd"), 2500, "trend"), "EURUSD")


def _feed(engine: AlertEngine, records, first_offset: int = 0, partition: int = 0) -> list:
    out = []
    for offset, rec in enumerate(records, start=first_offset):
        got = engine.process(rec.to_json(), rec.symbol.encode(), Source("explanations", partition, offset), rec.ts)
        assert got.dead_letter is None
        out += got.alerts
    return out


def _changelog(engine: AlertEngine) -> list[bytes]:
    return [encode_state(key, p, applied, state) for key, p, applied, state in engine.take_changes()]


def test_a_restart_from_the_changelog_raises_exactly_the_uninterrupted_runs_alerts(model, reference, trend):
    uninterrupted = _feed(AlertEngine(reference, model_version=model.version), trend)
    assert {a.symbol for a in uninterrupted} == {"EURUSD", "*"}
    first = AlertEngine(reference, model_version=model.version)
    got = _feed(first, trend[:30])
    changelog = _changelog(first)
    second = AlertEngine(reference, model_version=model.version)  # committed offsets only reached 20
    for key, (applied, state) in latest_states(changelog).items():
        second.load(key, 0, applied, state)
    got += _feed(second, trend[20:], first_offset=20)
    assert second.counts["replayed"] == 10
    assert [a.alert_id for a in got] == [a.alert_id for a in uninterrupted]


def test_a_redelivered_record_is_a_duplicate_even_after_a_restart_and_an_older_one_is_out_of_order(
        model, reference, eurusd):
    first = AlertEngine(reference, model_version=model.version)
    _feed(first, eurusd[:10])
    second = AlertEngine(reference, model_version=model.version)
    for key, (applied, state) in latest_states(_changelog(first)).items():
        second.load(key, 0, applied, state)
    before = json.dumps({k: s.state() for k, s in second.states.items()}, sort_keys=True)
    again = second.process(eurusd[9].to_json(), b"EURUSD", Source("explanations", 0, 50), 1)
    older = second.process(eurusd[4].model_copy(update={"signal_id": "other"}).to_json(), b"EURUSD",
                           Source("explanations", 0, 51), 1)
    assert (again.skipped, older.skipped) == ("duplicate", "out_of_order")
    assert json.dumps({k: s.state() for k, s in second.states.items()}, sort_keys=True) == before


def test_star_watches_the_symbols_of_one_partition_and_its_alerts_say_star(model, reference, trend):
    engine = AlertEngine(reference, model_version=model.version)
    other = [r.model_copy(update={"symbol": "EURUSD.B", "signal_id": f"B{r.signal_id[1:]}"}) for r in trend]
    alerts = []
    for i, (a, b) in enumerate(zip(trend, other)):  # interleaved, as two partitions arrive
        alerts += _feed(engine, [a], first_offset=i, partition=0) + _feed(engine, [b], first_offset=i, partition=1)
    assert {"*#0", "*#1"} <= set(engine.states)
    assert {a.symbol for a in alerts} == {"EURUSD", "EURUSD.B", "*"}
    alone = _feed(AlertEngine(reference, model_version=model.version), trend)
    assert {a.alert_id for a in alone} <= {a.alert_id for a in alerts}  # partition 1 changed nothing of 0's
    for a in alerts:
        assert len({sid[0] == "B" for sid in a.evidence}) == 1, "a '*' alert mixed two partitions' evidence"


def test_least_recently_seen_symbols_are_evicted_with_a_tombstone(model, reference, eurusd):
    engine = AlertEngine(reference, AlertParams(max_symbols=2), model.version)
    for i, symbol in enumerate(["A", "B", "A", "C"]):
        rec = eurusd[i].model_copy(update={"symbol": symbol, "signal_id": f"s{i}"})
        engine.process(rec.to_json(), symbol.encode(), Source("explanations", 3, 100 + i), 1)
    assert [k for k in engine.states if not k.startswith("*")] == ["A", "C"] and "*#3" in engine.states
    changes = engine.take_changes()
    assert ("B", 3, 101, None) in changes and engine.counts["evicted"] == 1
    assert latest_states([encode_state(k, p, a, s) for k, p, a, s in changes]).keys() == {"A", "C", "*#3"}


def test_a_partition_is_forgotten_with_its_keys_and_seen_ids(model, reference, eurusd):
    engine = AlertEngine(reference, model_version=model.version)
    _feed(engine, eurusd[:3], partition=0)
    _feed(engine, [r.model_copy(update={"symbol": "GOOG", "signal_id": f"g{i}"}) for i, r in enumerate(eurusd[:3])],
          partition=1)
    engine.forget_partition(0)
    assert set(engine.states) == {"GOOG", "*#1"} and set(engine.seen.values()) == {1}
    assert {k for k, *_ in engine.take_changes()} == {"GOOG", "*#1"}


class _Raises:
    """A detector that fails on one signal after the record passed every check."""

    kind, params, symbol_only = "raises", (), False
    poison = "none"

    def __init__(self, reference, params):
        self.n = 0

    def observe(self, record):
        self.n += 1
        if record.signal_id == self.poison:
            raise FloatingPointError("overflow in a detector")
        return []

    def gauges(self):
        return {}

    def state(self):
        return {"n": self.n}

    def restore(self, state):
        self.n = state["n"]


def test_a_detector_that_raises_anyway_puts_the_keys_back_and_dead_letters_the_record(
        model, reference, eurusd, monkeypatch):
    monkeypatch.setattr(_Raises, "poison", eurusd[5].signal_id)
    engine = AlertEngine(reference, model_version=model.version, detectors=[*registered(), _Raises])
    _feed(engine, eurusd[:5])
    engine.take_changes()
    before = copy.deepcopy({k: s.state() for k, s in engine.states.items()})
    out = engine.process(eurusd[5].to_json(), b"EURUSD", Source("explanations", 0, 5), 1)
    assert out.dead_letter.reason == "alert_error" and "FloatingPointError" in out.dead_letter.detail
    assert {k: s.state() for k, s in engine.states.items()} == before
    assert engine.take_changes() == [] and eurusd[5].signal_id not in engine.seen
    assert _feed(engine, eurusd[6:8], first_offset=6) == []
    assert engine.states["EURUSD"].applied == 7


def test_a_state_that_does_not_restore_leaves_its_key_absent(model, reference, eurusd):
    engine = AlertEngine(reference, model_version=model.version)
    with pytest.raises(KeyError):
        engine.load("EURUSD", 0, 7, {"evidence": []})
    assert "EURUSD" not in engine.states and engine.symbols == 0
    _feed(engine, eurusd[:2])
    assert engine.states["EURUSD"].applied == 1
