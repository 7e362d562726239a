"""The dashboard's in-memory store: validation, de-duplication, caps, and the view functions over it."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from dash import no_update

from dashboard import app as dash_app
from dashboard.store import Store
from streams.records import ArchiveRecord, signal_id_for

T, F = 32, 6
BASE_TS = 1_700_000_000_000


def record_bytes(ts: int, symbol: str = "EURUSD", direction: str = "long", produced_at: int | None = None) -> bytes:
    rng = np.random.default_rng(ts % 1000)
    att = rng.random(T)
    mv = "cd" * 32
    return ArchiveRecord(
        signal_id=signal_id_for(symbol, ts, mv), symbol=symbol, ts=ts, price=1.1, model_version=mv,
        score=0.7, threshold=0.5, direction=direction, feature_names=[f"f{i}" for i in range(F)],
        window=rng.normal(size=(T, F)).tolist(), attributions=rng.normal(size=(T, F)).tolist(),
        event_attributions=[0.1, 0.2], segments=[[0, 16], [16, 32]], feature_attributions=[0.1] * F,
        base_value=0.0, attention=(att / att.sum()).tolist(), attention_shap_spearman=None, additivity_error=0.0,
        explainer={"method": "kernel", "params": {}, "seed": 1}, scored_at=ts, produced_at=produced_at or ts,
    ).to_json()


def tick(symbol="EURUSD", ts=BASE_TS, price=1.1, size=1.0) -> tuple[bytes, bytes]:
    return json.dumps({"symbol": symbol, "ts": ts, "price": price, "size": size}).encode(), symbol.encode()


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


def filled_store(n_points=3000, n_signals=30) -> Store:
    s = Store()
    for i in range(n_points):
        s.add_point("EURUSD", BASE_TS + i * 60_000, 1.1 + 0.001 * np.sin(i / 50))
    for i in range(n_signals):
        s.add_record_raw(record_bytes(BASE_TS + i * 90 * 60_000, direction="short" if i % 3 else "long"))
    return s


def test_desk_update_full_then_incremental():
    from dashboard.views import desk

    s = filled_store()
    out = desk.desk_update(s, None, None, None, None)
    assert out["symbol"] == "EURUSD" and out["options"] == [{"label": "EURUSD", "value": "EURUSD"}]
    line = out["figure"]["data"][2]
    assert line["name"] == "price" and len(line["x"]) == 3000
    assert out["count"] == "30 signals" and len(out["rows"]) == 30
    assert out["rows"][0]["id"] == out["rows"][0]["signal_id"] == s.newest_signal_id()
    assert out["extend"] is no_update
    cur = out["cursor"]
    again = desk.desk_update(s, "EURUSD", None, cur, None)
    assert again["figure"] is no_update and again["extend"] is no_update and again["rows"] is no_update
    assert again["options"] is no_update
    # new ticks and a new signal go out as extendData, not as a new figure
    s.add_point("EURUSD", BASE_TS + 10**9, 1.2)
    s.add_point("EURUSD", BASE_TS + 10**9 + 1, 1.3)
    s.add_record_raw(record_bytes(BASE_TS + 10**9, direction="long"))
    inc = desk.desk_update(s, "EURUSD", None, cur, None)
    assert inc["figure"] is no_update
    upd, idx, cap = inc["extend"]
    assert idx == [0, 2] and upd["x"][1] == [BASE_TS + 10**9, BASE_TS + 10**9 + 1]
    assert upd["customdata"][0][0][0] == s.newest_signal_id() and cap["x"][1] == s.max_points
    assert inc["rows"] is not no_update  # a new signal: the table changes
    assert desk.desk_update(s, "EURUSD", None, inc["cursor"], None)["extend"] is no_update
    # selecting a signal moves the ring with extendData (max 1 point)
    sid = s.signals()[3].signal_id
    sel = desk.desk_update(s, "EURUSD", sid, inc["cursor"], None)
    assert sel["figure"] is no_update and sel["extend"][1] == [3] and sel["extend"][2]["x"] == [1]
    # a cursor from another process, or one behind the kept points, gets the whole figure
    other = dict(inc["cursor"], uid="elsewhere")
    assert desk.desk_update(s, "EURUSD", None, other, None)["figure"] is not no_update


def test_desk_update_resends_when_the_browser_fell_behind():
    from dashboard.views import desk

    s = Store(max_points=100)
    for i in range(50):
        s.add_point("EURUSD", BASE_TS + i, 1.0)
    cur = desk.desk_update(s, None, None, None, None)["cursor"]
    for i in range(50, 300):
        s.add_point("EURUSD", BASE_TS + i, 1.0)
    out = desk.desk_update(s, "EURUSD", None, cur, None)
    assert out["figure"] is not no_update and len(out["figure"]["data"][2]["x"]) == 100


def test_desk_update_switches_to_the_symbol_of_an_opened_signal():
    from dashboard.views import desk

    s = filled_store(n_points=10, n_signals=3)
    s.add_record_raw(record_bytes(BASE_TS + 5, symbol="BTCUSD"))
    sid = s.signals("BTCUSD")[0].signal_id
    out = desk.desk_update(s, "EURUSD", sid, None, None, selection_changed=True)
    assert out["symbol"] == "BTCUSD"


def test_desk_update_timing_with_100k_points():
    from plotly.io.json import to_json_plotly

    from dashboard.views import desk

    s = Store(max_points=100_000)
    for i in range(100_000):
        s.add_point("EURUSD", BASE_TS + i * 1000, 1.1 + 1e-6 * (i % 1000))
    for i in range(200):
        s.add_record_raw(record_bytes(BASE_TS + i * 500_000))
    t0 = time.perf_counter()
    out = desk.desk_update(s, "EURUSD", None, None, None)
    size = len(to_json_plotly(out["figure"]))
    full_s = time.perf_counter() - t0
    cur = out["cursor"]
    t0 = time.perf_counter()
    for i in range(20):
        s.add_point("EURUSD", BASE_TS + 10**9 + i, 1.2)
        out = desk.desk_update(s, "EURUSD", None, cur, None)
        to_json_plotly(out["extend"])
        cur = out["cursor"]
    inc_s = (time.perf_counter() - t0) / 20
    assert full_s < 1.0 and size < 4_000_000, (full_s, size)
    assert inc_s < 0.01, inc_s  # a poll with new points costs next to nothing


def test_explanation_view_defaults_to_newest_and_follows_selection():
    from dashboard.views import signal

    s = filled_store(n_points=10, n_signals=5)
    newest = s.newest_signal_id()
    out = signal.explanation_view(s, None, "EURUSD", None, now_ms=1000)
    sid, mode, summary, wf, bar, heat, att, quality, rendered = out
    assert sid == newest and mode == "(newest)" and rendered == [newest, "newest", 1000]
    assert heat.data[0].type == "heatmap" and wf.data[0].type == "waterfall"
    assert signal.explanation_view(s, None, "EURUSD", rendered, now_ms=1500)[0] is no_update
    other = s.signals()[3].signal_id
    out = signal.explanation_view(s, other, "EURUSD", rendered, now_ms=1600)
    assert out[0] == other and out[1] == "(selected)"


def test_explanation_view_follow_mode_is_throttled():
    from dashboard.views import signal

    s = filled_store(n_points=10, n_signals=5)
    rendered = signal.explanation_view(s, None, "EURUSD", None, now_ms=10_000)[-1]
    s.add_record_raw(record_bytes(BASE_TS + 10**9))
    assert signal.explanation_view(s, None, "EURUSD", rendered, now_ms=10_500)[0] is no_update
    later = signal.explanation_view(s, None, "EURUSD", rendered, now_ms=10_000 + signal.FOLLOW_MIN_MS)
    assert later[0] == s.newest_signal_id()


def test_explanation_view_reads_the_archive_for_unknown_signals():
    from dashboard.views import signal

    s = filled_store(n_points=10, n_signals=2)
    archived = json.loads(record_bytes(BASE_TS + 777, symbol="OLD"))

    class FakeArchive:
        def record(self, sid):
            return archived if sid == archived["signal_id"] else None

    out = signal.explanation_view(s, archived["signal_id"], "EURUSD", None, archive=FakeArchive())
    assert out[0] == archived["signal_id"] and "archive" in out[1]
    missing = signal.explanation_view(s, "f" * 32, "EURUSD", None, archive=FakeArchive())
    assert missing[1] == "(not found)"


def test_explanation_view_without_signals():
    from dashboard.views import signal

    s = Store()
    assert signal.explanation_view(s, None, None, None)[0] is no_update


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
                                       ("127.0.0.2", True), ("0.0.0.0", False), ("::", False),
                                       ("192.168.1.5", False), ("example.com", False)])
def test_is_loopback(host, loop):
    assert dash_app.is_loopback(host) is loop


def test_token_gate():
    s = Store()
    app = dash_app.create_app(s, token="s3cret")
    c = app.server.test_client()
    assert c.get("/").status_code == 401
    assert c.get("/?token=wrong").status_code == 401
    r = c.get("/?token=s3cret&x=1")
    assert r.status_code == 303 and r.headers["Location"].endswith("/?x=1")
    assert "s3cret" not in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    assert c.get("/").status_code == 200  # the cookie now carries it
    assert c.get(dash_app.STATUS_PATH).status_code == 200
    fresh = app.server.test_client()
    import base64
    basic = {"Authorization": "Basic " + base64.b64encode(b"anyone:s3cret").decode()}
    assert fresh.get("/", headers=basic).status_code == 200
    bad = {"Authorization": "Basic " + base64.b64encode(b"anyone:nope").decode()}
    assert fresh.get("/", headers=bad).status_code == 401


def test_no_gate_without_token():
    app = dash_app.create_app(Store())
    assert app.server.test_client().get("/").status_code == 200


def test_command_refuses_exposed_host_without_token(monkeypatch, capsys):
    from tickscope.cli import main
    from tickscope.settings import get_settings

    monkeypatch.delenv("TICKSCOPE_DASHBOARD_TOKEN", raising=False)
    get_settings.cache_clear()
    try:
        assert main(["dashboard", "--host", "0.0.0.0", "--port", "1"]) == 2
    finally:
        get_settings.cache_clear()
    assert "TICKSCOPE_DASHBOARD_TOKEN" in capsys.readouterr().err


def test_feed_keeps_retrying_while_the_broker_is_down():
    from dashboard.store import KafkaFeed
    from tickscope.broker import free_port

    s = Store()
    feed = KafkaFeed(s, {"bootstrap_servers": [f"127.0.0.1:{free_port()}"]}, "ticks", "explanations",
                     retry_s=0.1, connect_timeout_ms=300)
    feed.start()
    try:
        deadline = time.monotonic() + 10
        while s.snapshot_status()[0].state != "error" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert s.snapshot_status()[0].state == "error" and feed.is_alive()
    finally:
        feed.stop()
    assert not feed.is_alive()
