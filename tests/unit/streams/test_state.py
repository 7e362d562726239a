"""Window state: a restart from saved state, or a stale write, gives the uninterrupted run's signals."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.streams.conftest import messages, run
from tickscope.marketdata.sources import load_source
from tickscope.streams.detect import Batch, SignalDetector
from tickscope.streams.state import decode_state, encode_state, encode_window_state, latest_states


def _save(detector: SignalDetector, symbols) -> list[bytes]:
    out = []
    for symbol in symbols:
        partition, applied, state = detector.windows.state_of(symbol)
        out.append(encode_window_state(symbol, partition, applied, state))
    return out


def test_window_state_encoding_is_the_general_encoding_byte_for_byte(model):
    """The detect checkpoint's fast encoder writes what ``encode_state`` writes, state and tombstone."""
    detector = SignalDetector(model, 8, 4096)
    outs = run(detector, messages("EURUSD", load_source("eurusd")[:300]), 100)
    symbol = next(iter(outs[-1].changed))
    partition, applied, state = detector.windows.state_of(symbol)
    assert state["prices"] and any(s is not None for s in state["sizes"])
    assert encode_window_state(symbol, partition, applied, state) == encode_state(symbol, partition, applied, state)
    assert encode_window_state(symbol, 0, 5, None) == encode_state(symbol, 0, 5, None)


def test_a_window_holding_a_non_finite_price_is_never_saved(model):
    """orjson would write NaN as null: ``state_of`` refuses it first (ingest lets none through)."""
    detector = SignalDetector(model, 8, 4096)
    outs = run(detector, messages("EURUSD", load_source("eurusd")[:300]), 100)
    symbol = next(iter(outs[-1].changed))
    row = detector.windows.index[symbol]
    detector.windows.prices[row, -1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        detector.windows.state_of(symbol)


def test_restart_from_saved_state_gives_the_same_signals_as_an_uninterrupted_run(model):
    """Crash model: state saved after offset 699, offsets committed only to 400, ticks re-delivered."""
    msgs = messages("EURUSD", load_source("eurusd")[:1200])
    expected = [s.signal_id for o in run(SignalDetector(model, 8, 4096), msgs, 100) for s in o.signals]
    first = SignalDetector(model, 8, 4096)
    outs = run(first, msgs[:700], 100)
    got = [s.signal_id for o in outs for s in o.signals]
    changelog = _save(first, set().union(*(o.changed for o in outs)))
    second = SignalDetector(model, 8, 4096)
    for symbol, (applied, state) in latest_states(changelog).items():
        second.windows.load(symbol, 0, applied, state)
    outs = run(second, msgs[400:], 100)
    got += [s.signal_id for o in outs for s in o.signals]
    assert sum(o.replayed for o in outs) == 300
    assert got == expected


def test_the_record_with_the_highest_applied_offset_wins_and_tombstones_remove(model):
    detector = SignalDetector(model, 8, 4096)
    rows = load_source("eurusd")[:120]
    detector.process(Batch.of(messages("EURUSD", rows[:100])), 1)
    newer = _save(detector, ["EURUSD"])
    detector.process(Batch.of(messages("EURUSD", rows[100:], start=100)), 1)
    newest = _save(detector, ["EURUSD"])
    stale_late_write = newer  # a stalled worker writing its older state after the new owner's
    assert latest_states(newest + stale_late_write)["EURUSD"][0] == 119
    tombstone = encode_state("EURUSD", 0, 119, None)
    assert latest_states(newest + [tombstone]) == {} and latest_states(newest + [tombstone] + newest) != {}
    assert decode_state(tombstone) == ("EURUSD", 119, None)


def test_a_changelog_written_before_the_envelope_still_loads(model):
    import json

    old = json.dumps({"schema_version": 1, "symbol": "EURUSD", "partition": 0, "last_ts": 5, "prices": [1.0, 2.0],
                      "sizes": [None, 3.0], "cooldown": 2, "applied_offset": 41}).encode()
    applied, state = latest_states([old])["EURUSD"]
    detector = SignalDetector(model, 8, 4096)
    detector.windows.load("EURUSD", 0, applied, state)
    assert detector.windows.state_of("EURUSD") == (0, 41, {"last_ts": 5, "prices": [1.0, 2.0], "sizes": [None, 3.0],
                                                           "cooldown": 2})
