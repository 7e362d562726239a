"""The detect stage on real ticks: bad input routed, signals significant, cooled down and reproducible."""

from __future__ import annotations

import numpy as np

from tickscope import models
from tickscope.contracts.dead_letters import Source
from tickscope.marketdata.feed import tick_json
from tickscope.marketdata.sources import load_source
from tickscope.streams.detect import Message, SignalDetector


def _messages(rows, start=0, partition=0):
    return [Message(b"EURUSD", tick_json("EURUSD", r), Source("ticks", partition, start + i))
            for i, r in enumerate(rows)]


def test_detector_routes_bad_input_and_keeps_going(detector_run):
    _, _, outcomes = detector_run
    letters = [d for o in outcomes for d in o.dead_letters]
    assert [d.reason for d in letters] == ["undecodable"] and letters[0].source_offset == 700
    assert sum(o.accepted for o in outcomes) == 1500


def test_detector_signals_are_significant_and_cooled_down(detector_run):
    model, _, outcomes = detector_run
    signals = [s for o in outcomes for s in o.signals]
    assert signals, "1500 real bars should give at least one significant signal"
    assert all(abs(s.score) > model.threshold for s in signals)
    ts = [s.ts for s in signals]
    rows = {r.ts: i for i, r in enumerate(load_source("eurusd")[:1500])}
    gaps = np.diff([rows[t] for t in ts])
    assert (gaps > 8).all(), "a symbol stays quiet for the cooldown after a signal"
    assert all(len(s.window) == 32 and len(s.window[0]) == 6 for s in signals)


def test_replaying_the_same_ticks_gives_the_same_signal_ids(detector_run):
    model, _, outcomes = detector_run
    again = SignalDetector(model, cooldown_ticks=8, max_message_bytes=4096)
    rows = load_source("eurusd")[:1500]
    msgs = [Message(b"EURUSD", tick_json("EURUSD", r), Source("ticks", 0, i)) for i, r in enumerate(rows)]
    ids = [s.signal_id for i in range(0, 1500, 100) for s in again.process(msgs[i : i + 100], 1).signals]
    assert ids == [s.signal_id for o in outcomes for s in o.signals]


def test_streamed_windows_equal_the_training_function_bit_for_bit(detector_run):
    """No train/serve skew: the worker's incremental windows are window_from_history's."""
    from tickscope.features.window import window_from_history

    _, _, outcomes = detector_run
    rows = load_source("eurusd")[:1500]
    index = {r.ts: i for i, r in enumerate(rows)}
    prices = np.array([r.price for r in rows])
    sizes = np.array([r.size for r in rows])
    signals = [s for o in outcomes for s in o.signals]
    for s in signals:
        i = index[s.ts] + 1
        expected = window_from_history(prices[:i], sizes[:i])
        assert np.array_equal(np.array(s.window, dtype=np.float32), expected)


def test_archived_scores_do_not_depend_on_micro_batch_size():
    """The gate re-scores candidates alone, so any batching gives the same signals, bit for bit."""
    model = models.load()
    msgs = _messages(load_source("sp500")[:900])
    runs, windows = [], []
    for size in (7, 256):
        det = SignalDetector(model, 8, 4096)
        signals = [s for i in range(0, len(msgs), size) for s in det.process(msgs[i : i + size], 1).signals]
        runs.append([(s.signal_id, s.score) for s in signals])
        windows = [np.array(s.window, dtype=np.float32) for s in signals]
    assert runs[0] and runs[0] == runs[1]
    from tickscope.streams.score import score_one

    assert [score for _, score in runs[1]] == [score_one(model.net, w) for w in windows]

