import json

import numpy as np
import pytest

import models
from streams.archive import archive_record, baseline_sha256
from streams.explain import ExplainConfig, explain
from streams.feed import tick_json
from streams.gate import next_cooldown, significance
from streams.ingest import Source
from streams.records import ArchiveRecord, seed_for, signal_id_for
from streams.signals import Message, SignalDetector
from streams.sources import load_source


def test_gate_needs_score_beyond_threshold_and_no_cooldown():
    assert significance(2.0, 1.0, 0) == "long"
    assert significance(-2.0, 1.0, 0) == "short"
    assert significance(1.0, 1.0, 0) is None
    assert significance(5.0, 1.0, 3) is None
    assert next_cooldown(0, True, 8) == 8 and next_cooldown(8, False, 8) == 7 and next_cooldown(0, False, 8) == 0


def test_signal_id_is_deterministic_and_distinct():
    a = signal_id_for("EURUSD", 1, "v" * 64)
    assert a == signal_id_for("EURUSD", 1, "v" * 64)
    assert len({a, signal_id_for("EURUSD", 2, "v" * 64), signal_id_for("GBPUSD", 1, "v" * 64),
                signal_id_for("EURUSD", 1, "w" * 64)}) == 4
    assert seed_for(a) == seed_for(a) and 0 < seed_for(a) < 2**32


@pytest.fixture(scope="module")
def detector_run():
    model = models.load()
    detector = SignalDetector(model, cooldown_ticks=8, max_message_bytes=4096)
    values = [tick_json("EURUSD", r) for r in load_source("eurusd")[:1500]]
    values.insert(700, b"{broken")
    msgs = [Message(b"EURUSD", v, Source("ticks", 0, i)) for i, v in enumerate(values)]
    outcomes = [detector.process(msgs[i : i + 256], now_ms=1) for i in range(0, len(msgs), 256)]
    return model, detector, outcomes


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


def test_archive_record_is_json_and_complete(detector_run):
    model, _, outcomes = detector_run
    signal = next(s for o in outcomes for s in o.signals)
    base = model.baseline.numpy()
    seed = seed_for(signal.signal_id)
    expl = explain(model.net, np.array(signal.window, dtype=np.float32), base, seed)
    record = archive_record(signal, expl, ExplainConfig(), seed, baseline_sha256(base), produced_at=2)
    again = ArchiveRecord.from_json(record.to_json())
    assert again == record
    body = json.loads(record.to_json())
    assert body["explainer"]["params"]["baseline_sha256"] == baseline_sha256(base)
    assert body["additivity_error"] < 1e-5 * max(1, abs(body["score"]))


def _messages(rows, start=0, partition=0):
    return [Message(b"EURUSD", tick_json("EURUSD", r), Source("ticks", partition, start + i)) for i, r in enumerate(rows)]


def test_restart_from_saved_state_gives_the_same_signals_as_an_uninterrupted_run():
    """Crash model: state saved after batch k, offsets committed earlier, ticks re-delivered."""
    from streams.state import encode_history

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
    from streams.state import WindowStore

    second = SignalDetector(model, 8, 4096, store=WindowStore(lambda p: list(changelog)))
    outs = [second.process(msgs[i : i + 100], 1) for i in range(400, 1200, 100)]
    got += [s.signal_id for o in outs for s in o.signals]
    assert sum(o.replayed for o in outs) == 300
    assert got == expected


def test_a_rewind_or_jump_in_offsets_reloads_the_partition_state():
    from streams.state import WindowStore, encode_history

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


def test_streamed_windows_equal_the_training_function_bit_for_bit(detector_run):
    """No train/serve skew: the worker's incremental windows are window_from_history's."""
    from streams.features import window_from_history

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
    from streams.score import score_one

    assert [score for _, score in runs[1]] == [score_one(model.net, w) for w in windows]

