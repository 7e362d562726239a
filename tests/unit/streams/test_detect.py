"""The detect stage on real ticks: bad input routed, signals significant, cooled down and reproducible,
and equal, batch for batch, to the stage applied one tick at a time (tests/support/reference_detect.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.support.reference_detect import Message as ReferenceMessage
from tests.support.reference_detect import ReferenceDetector
from tests.unit.streams.conftest import messages, run
from tickscope.contracts.dead_letters import Source
from tickscope.marketdata.sources import load_source
from tickscope.streams.detect import Batch, Message, SignalDetector
from tickscope.streams.score import score_one


def test_detector_routes_bad_input_and_keeps_going(detector_run):
    _, _, outcomes = detector_run
    letters = [d for o in outcomes for d in o.dead_letters]
    assert [d.reason for d in letters] == ["undecodable"] and letters[0].source_offset == 700
    assert sum(o.accepted for o in outcomes) == 1500


def test_detector_signals_are_significant_and_cooled_down(detector_run):
    model, _, outcomes = detector_run
    signals = [s for o in outcomes for s in o.signals]
    assert signals, "1500 real bars should give at least one significant signal"
    lower, upper = model.thresholds
    assert all((s.score > upper) if s.direction == "long" else (s.score < lower) for s in signals)
    assert all(s.threshold == (upper if s.direction == "long" else lower) for s in signals)
    rows = {r.ts: i for i, r in enumerate(load_source("eurusd")[:1500])}
    gaps = np.diff([rows[s.ts] for s in signals])
    assert (gaps > 8).all(), "a symbol stays quiet for the cooldown after a signal"
    assert all(len(s.window) == 32 and len(s.window[0]) == 6 for s in signals)


def test_streamed_windows_equal_the_training_function_bit_for_bit(detector_run):
    """No train/serve skew: the worker's incremental windows are window_from_history's."""
    from tickscope.features.window import window_from_history

    _, _, outcomes = detector_run
    rows = load_source("eurusd")[:1500]
    index = {r.ts: i for i, r in enumerate(rows)}
    prices, sizes = np.array([r.price for r in rows]), np.array([r.size for r in rows])
    for s in (s for o in outcomes for s in o.signals):
        i = index[s.ts] + 1
        assert np.array_equal(np.array(s.window, dtype=np.float32), window_from_history(prices[:i], sizes[:i]))


@pytest.mark.parametrize("size", [7, 256, 5000])
def test_any_batching_gives_the_same_signals_with_scores_of_the_window_alone(model, size):
    msgs = messages("SP500", load_source("sp500")[:900])
    signals = [s for o in run(SignalDetector(model, 8, 4096), msgs, size) for s in o.signals]
    baseline = [s for o in run(SignalDetector(model, 8, 4096), msgs, 100) for s in o.signals]
    assert signals and [(s.signal_id, s.score) for s in signals] == [(s.signal_id, s.score) for s in baseline]
    assert [s.score for s in signals] == [score_one(model.net, np.array(s.window, dtype=np.float32))
                                          for s in signals]


def _hostile_mix() -> list[Message]:
    """Three real series interleaved over two partitions, with every kind of bad input, duplicates,
    out-of-order ticks and a rewind (a re-delivery after a crash)."""
    series = {"EURUSD": load_source("eurusd")[:700], "GOOG": load_source("goog")[:700],
              "SP500": load_source("sp500")[:700]}
    rng = np.random.default_rng(7)
    out, offsets = [], {0: 0, 1: 0}
    bad = [b"{broken", b"", b'{"symbol": "EURUSD", "ts": 1, "price": 1}', b'{"symbol": "EURUSD\\n", "ts": 1}',
           b"[" * 5000 + b"]" * 5000, b'{"symbol": "GOOG", "ts": 1700000000000, "price": -1}',
           b'{"symbol": "GOOG", "ts": 1700000000000, "price": 1e400}', b'{"symbol": "GOOG", "price": 1}',
           b'{"symbol": "GOOG", "ts": "2024-01-01", "price": 1}', b"\xff\xfe", b'"just a string"',
           json.dumps({"symbol": "GOOG", "ts": 1700000000000, "price": 10 ** 400}).encode(),
           b'{"symbol": "GOOG", "ts": 1700000000000, "price": 2, "size": -3}',
           b'{"symbol": "GOOG", "ts": 1700000000000, "price": 2, "price": -2}',
           b'{"symbol": "GOOG", "ts": true, "price": 2}',
           b'{"symbol": "GOOG", "ts": 1700000000000.0, "price": 2}',
           b'{"symbol": "GOOG", "ts": 1, "price": 2, "size": "3"}']

    def add(key, value, partition):
        out.append(Message(key, value, partition, offsets[partition]))
        offsets[partition] += 1

    from tickscope.marketdata.feed import tick_json

    for k in range(700):
        for symbol, rows in series.items():
            partition = 0 if symbol == "EURUSD" else 1
            add(symbol.encode(), tick_json(symbol, rows[k]), partition)
            if rng.random() < 0.02:  # a duplicate, or an older tick
                add(symbol.encode(), tick_json(symbol, rows[max(0, k - int(rng.integers(0, 3)))]), partition)
        if rng.random() < 0.05:
            add(b"GOOG" if rng.random() < 0.5 else None, bad[int(rng.integers(len(bad)))], 1)
    rewound = [m for m in out[1200:1500]]  # re-delivered after a "crash": their offsets repeat
    return out + rewound + out[1500:1510]


def test_equals_the_tick_by_tick_reference_on_a_hostile_real_mix(model):
    msgs = _hostile_mix()
    reference = ReferenceDetector(model, 8, 4096)
    columnar = SignalDetector(model, 8, 4096)
    for i in range(0, len(msgs), 333):
        chunk = msgs[i:i + 333]
        ref = reference.process([ReferenceMessage(m.key, m.value, Source("ticks", m.partition, m.offset))
                                 for m in chunk], 1)
        got = columnar.process(Batch.of(chunk), 1)
        assert [(s.signal_id, s.score, s.window) for s in got.signals] == \
            [(s.signal_id, s.score, s.window) for s in ref.signals]
        assert [(d.reason, d.detail, d.source_partition, d.source_offset, d.original_b64) for d in got.dead_letters] \
            == [(d.reason, d.detail, d.source_partition, d.source_offset, d.original_b64) for d in ref.dead_letters]
        assert (got.accepted, dict(got.dropped), got.replayed) == (ref.accepted, dict(ref.dropped), ref.replayed)
    assert sum(len(columnar.process(Batch.of([]), 1).signals) for _ in range(1)) == 0
    for symbol, history in reference.histories.items():
        _, applied, state = columnar.windows.state_of(symbol)
        assert applied == history.applied_offset and state["last_ts"] == history.last_ts
        assert state["prices"] == list(history.prices) and state["cooldown"] == history.cooldown
        row = columnar.windows.index[symbol]
        assert np.array_equal(columnar.windows.rows[row][-len(history.rows):], np.stack(history.rows))


def test_several_ticks_in_one_message_give_the_same_signals(model):
    more = load_source("eurusd")[:1203]
    rows = more[:1200]
    single = [s.signal_id for o in run(SignalDetector(model, 8, 4096), messages("EURUSD", rows), 64)
              for s in o.signals]
    from tickscope.marketdata.feed import ticks_json

    arrays = [Message(b"EURUSD", ticks_json("EURUSD", rows[i:i + 10]), 0, i // 10) for i in range(0, 1200, 10)]
    detector = SignalDetector(model, 8, 4096, max_array_bytes=65536)
    outcomes = run(detector, arrays, 8)
    assert [s.signal_id for o in outcomes for s in o.signals] == single and single
    assert sum(o.accepted for o in outcomes) == 1200
    bad = ticks_json("EURUSD", more[1200:1203])[:-1] + b',{"symbol": "EURUSD", "ts": 5, "price": 1}]'
    out = detector.process(Batch.of([Message(b"EURUSD", bad, 0, 120)]), 1)
    assert out.accepted == 3 and [(d.reason, d.detail[:7]) for d in out.dead_letters] == [("implausible_ts", "tick 3:")]


def test_least_recently_seen_symbols_are_evicted_beyond_the_capacity(model):
    detector = SignalDetector(model, 8, 4096, capacity=2)
    rows = load_source("eurusd")[:80]
    detector.process(Batch.of(messages("A", rows[:70])), 1)
    detector.process(Batch.of(messages("B", rows[:70])), 1)
    detector.process(Batch.of(messages("A", rows[70:], start=70)), 1)  # A is now the most recently seen
    detector.process(Batch.of(messages("C", rows[:10])), 1)
    assert set(detector.windows.index) == {"A", "C"} and detector.windows.evictions == 1
    assert [s for s, _, _ in detector.windows.take_evicted()] == ["B"] and detector.windows.take_evicted() == []
    detector.process(Batch.of(messages("B", rows[:10])), 1)  # B comes back as a symbol never seen
    assert detector.windows.state_of("B")[2]["prices"] == [r.price for r in rows[:10]]
