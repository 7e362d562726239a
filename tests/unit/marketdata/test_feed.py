"""The tick publisher: wire form, looping replay, pacing."""

from __future__ import annotations

from tickscope.marketdata.feed import Pacer, replay, tick_json
from tickscope.marketdata.sources import TickRow


def test_loop_replay_shifts_timestamps_forward():
    rows = [TickRow(0, 1.0, None), TickRow(10, 2.0, None)]
    it = replay(rows, loop=True)
    ts = [next(it).ts for _ in range(6)]
    assert ts == [0, 10, 20, 30, 40, 50]


def test_tick_json_contract():
    import json

    expected = {"symbol": "GOOG", "ts": 5, "price": 2.5, "size": 10.0}
    assert json.loads(tick_json("GOOG", TickRow(5, 2.5, 10.0))) == expected
    assert "size" not in json.loads(tick_json("GOOG", TickRow(5, 2.5, None)))


def test_pacer_zero_speed_never_sleeps():
    import time

    pacer, start = Pacer(0), time.monotonic()
    for _ in range(10_000):
        pacer.tick()
    assert time.monotonic() - start < 1.0
