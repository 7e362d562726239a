"""The dashboard's in-memory store: validation, de-duplication, caps, thread safety."""

from __future__ import annotations

import json
import threading

import pytest

from tests.support.records import BASE_TS, record_bytes, tick
from tickscope.dashboard.live_store import Store


def test_valid_ticks_are_kept_per_symbol():
    s = Store(max_points=100)
    assert s.add_tick_raw(*tick("EURUSD", BASE_TS, 1.1))
    assert s.add_tick_raw(*tick("EURUSD", BASE_TS + 1, 1.2))
    assert s.add_tick_raw(*tick("BTCUSD", BASE_TS, 30000.0))
    assert s.prices("EURUSD") == ([BASE_TS, BASE_TS + 1], [1.1, 1.2])
    assert s.symbols() == ["BTCUSD", "EURUSD"]
    assert s.prices("NOPE") == ([], [])


@pytest.mark.parametrize("raw,key,reason", [
    (b"not json", b"EURUSD", "undecodable"),
    (b"[1,2]", None, "not_object"),
    (json.dumps({"symbol": "EURUSD", "ts": BASE_TS, "price": -1}).encode(), b"EURUSD", "bad_price"),
    (json.dumps({"symbol": "EURUSD", "price": 1.0}).encode(), b"EURUSD", "missing_ts"),
    (json.dumps({"symbol": "EURUSD", "ts": BASE_TS, "price": 1.0}).encode(), b"GBPUSD", "key_mismatch"),
    (json.dumps({"symbol": "bad symbol!", "ts": BASE_TS, "price": 1.0}).encode(), None, "bad_symbol"),
    (json.dumps({"symbol": "EURUSD", "ts": 5, "price": 1.0}).encode(), None, "implausible_ts"),
    (b"x" * 5000, None, "too_large"),
    (None, None, "empty"),
])
def test_invalid_ticks_are_skipped_and_counted(raw, key, reason):
    s = Store()
    assert not s.add_tick_raw(raw, key)
    assert s.symbols() == []
    _, counters = s.snapshot_status()
    assert counters["ticks_rejected"] == 1 and counters[f"ticks_rejected_{reason}"] == 1


def test_stale_and_duplicate_ticks_do_not_fold_the_line():
    s = Store()
    assert s.add_tick_raw(*tick(ts=BASE_TS + 10))
    assert not s.add_tick_raw(*tick(ts=BASE_TS + 10))  # replayed
    assert not s.add_tick_raw(*tick(ts=BASE_TS + 5))  # out of order
    assert s.prices("EURUSD")[0] == [BASE_TS + 10]


def test_points_are_capped_keeping_the_newest():
    s = Store(max_points=100)
    for i in range(250):
        s.add_tick_raw(*tick(ts=BASE_TS + i, price=1.0 + i))
    ts, prices = s.prices("EURUSD")
    assert len(ts) == 100 and ts[0] == BASE_TS + 150 and ts[-1] == BASE_TS + 249 and prices[-1] == 250.0


def test_records_are_deduplicated_by_signal_id():
    s = Store()
    raw = record_bytes(BASE_TS)
    assert s.add_record_raw(raw)
    assert not s.add_record_raw(raw)  # at-least-once: same record again
    assert not s.add_record_raw(record_bytes(BASE_TS, produced_at=BASE_TS + 999))  # re-explained copy
    assert s.n_records() == 1 and len(s.signals()) == 1
    _, counters = s.snapshot_status()
    assert counters["records_duplicate"] == 2


def test_invalid_records_are_skipped():
    s = Store()
    assert not s.add_record_raw(b"{}")
    assert not s.add_record_raw(b"garbage")
    assert not s.add_record_raw(None)
    bad = json.loads(record_bytes(BASE_TS))
    bad["direction"] = "sideways"
    assert not s.add_record_raw(json.dumps(bad).encode())
    assert s.n_records() == 0 and s.snapshot_status()[1]["records_rejected"] == 4


def test_signals_newest_first_filter_and_record_cap():
    s = Store(max_records=3)
    for i, sym in enumerate(["EURUSD", "BTCUSD", "EURUSD", "EURUSD"]):
        s.add_record_raw(record_bytes(BASE_TS + i * 1000, symbol=sym, direction="short" if i % 2 else "long"))
    rows = s.signals()
    assert [r.ts for r in rows] == [BASE_TS + 3000, BASE_TS + 2000, BASE_TS + 1000]  # oldest evicted
    assert [r.ts for r in s.signals("EURUSD")] == [BASE_TS + 3000, BASE_TS + 2000]
    assert s.newest_signal_id("BTCUSD") == rows[2].signal_id
    assert s.record(rows[0].signal_id)["ts"] == BASE_TS + 3000
    assert s.record("missing") is None and s.record(None) is None


def test_store_is_thread_safe():
    s = Store(max_points=1000)

    def writer(sym):
        for i in range(2000):
            s.add_point(sym, BASE_TS + i, 1.0 + i)

    threads = [threading.Thread(target=writer, args=(f"S{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        for sym in s.symbols():
            ts, p = s.prices(sym)
            assert len(ts) == len(p) <= 1000
    for k in range(4):
        assert len(s.prices(f"S{k}")[0]) == 1000


# ---- the view functions behind the Dash callbacks (no browser, no server) ----------------------




def test_symbols_are_capped_least_recently_seen_first():
    s = Store(max_symbols=3)
    for i, sym in enumerate(["A", "B", "C"]):
        s.add_point(sym, BASE_TS + i, 1.0)
    s.add_point("A", BASE_TS + 10, 1.0)  # A seen again: B is now the least recently seen
    s.add_point("D", BASE_TS + 11, 1.0)
    assert s.symbols() == ["A", "C", "D"] and s.snapshot_status()[1]["symbols_evicted"] == 1
    for i in range(100):
        s.add_point(f"X{i}", BASE_TS + i, 1.0)
    assert len(s.symbols()) == 3 and s.snapshot_status()[1]["symbols_evicted"] == 101


def test_subscribers_are_told_after_each_batch():
    s = Store()
    calls = []
    key = s.subscribe(lambda: calls.append(1))
    s.notify()
    s.unsubscribe(key)
    s.notify()
    assert calls == [1] and s.n_subscribers() == 0


def test_symbols_version_changes_with_the_set_of_symbols():
    s = Store(max_records=1)
    v0 = s.symbols_version
    s.add_point("A", BASE_TS, 1.0)
    v1 = s.symbols_version
    s.add_point("A", BASE_TS + 1, 1.0)
    assert v1 != v0 and s.symbols_version == v1  # a new point of a known symbol changes nothing
    s.add_record_raw(record_bytes(BASE_TS, symbol="B"))
    v2 = s.symbols_version
    s.add_record_raw(record_bytes(BASE_TS + 1, symbol="C"))  # evicts B's only record
    assert v2 != v1 and s.symbols_version != v2 and s.symbols() == ["A", "C"]
