"""Window state: a restart from saved state, or a partition reload, gives the uninterrupted run's signals."""

from __future__ import annotations

from tickscope import models
from tickscope.contracts.dead_letters import Source
from tickscope.marketdata.feed import tick_json
from tickscope.marketdata.sources import load_source
from tickscope.streams.detect import Message, SignalDetector


def _messages(rows, start=0, partition=0):
    return [Message(b"EURUSD", tick_json("EURUSD", r), Source("ticks", partition, start + i))
            for i, r in enumerate(rows)]


def test_restart_from_saved_state_gives_the_same_signals_as_an_uninterrupted_run():
    """Crash model: state saved after batch k, offsets committed earlier, ticks re-delivered."""
    from tickscope.streams.state import encode_history

    model = models.load()
    rows = load_source("eurusd")[:1200]
    msgs = _messages(rows)
    straight = SignalDetector(model, 8, 4096)
    expected = [s.signal_id for i in range(0, 1200, 100) for s in straight.process(msgs[i : i + 100], 1).signals]

    changelog: list[bytes] = []
    first = SignalDetector(model, 8, 4096)
    got = []
    for i in range(0, 700, 100):
        out = first.process(msgs[i : i + 100], 1)
        got += [s.signal_id for s in out.signals]
        changelog += [encode_history(sym, p, first.histories[sym]) for sym, p in out.changed.items()]
    # the crash: the worker dies after saving state through offset 699; offsets were committed only to 400
    from tickscope.streams.state import WindowStore

    second = SignalDetector(model, 8, 4096, store=WindowStore(lambda p: list(changelog)))
    outs = [second.process(msgs[i : i + 100], 1) for i in range(400, 1200, 100)]
    got += [s.signal_id for o in outs for s in o.signals]
    assert sum(o.replayed for o in outs) == 300
    assert got == expected


def test_a_rewind_or_jump_in_offsets_reloads_the_partition_state():
    from tickscope.streams.state import WindowStore, encode_history

    saved = []
    store = WindowStore(lambda p: list(saved))
    det = SignalDetector(models.load(), 8, 4096, store=store)
    rows = load_source("eurusd")[:300]
    det.process(_messages(rows[:100]), 1)
    assert store.reloads == 1
    saved.append(encode_history("EURUSD", 0, det.histories["EURUSD"]))
    det.process(_messages(rows[100:200], start=100), 1)
    assert store.reloads == 1  # contiguous: no reload
    det.process(_messages(rows[150:200], start=150), 1)  # rewind: back to the saved state (through offset 99)
    assert store.reloads == 2 and det.histories["EURUSD"].applied_offset == 199


