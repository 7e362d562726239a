"""The dashboard's in-memory store: validation, de-duplication, caps, and the view functions over it."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

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


def test_refresh_view_builds_then_skips_when_unchanged():
    s = filled_store()
    out = dash_app.refresh_view(s, None, None, None)
    options, symbol, fig, rows, style, count, status, key = out
    assert symbol == "EURUSD" and options == [{"label": "EURUSD", "value": "EURUSD"}]
    line = next(t for t in fig.data if t.name == "price")
    assert len(line.x) == 3000 and count == "30 signals" and len(rows) == 30
    assert rows[0]["id"] == rows[0]["signal_id"] == s.newest_signal_id()
    again = dash_app.refresh_view(s, symbol, None, key)
    assert again[2] is dash_app.no_update and again[3] is dash_app.no_update
    s.add_point("EURUSD", BASE_TS + 10**9, 1.2)
    assert dash_app.refresh_view(s, symbol, None, key)[2] is not dash_app.no_update


def test_refresh_view_timing_with_thousands_of_points():
    s = filled_store(n_points=5000, n_signals=200)
    key = None
    t0 = time.perf_counter()
    for i in range(10):
        s.add_point("EURUSD", BASE_TS + 10**9 + i, 1.2)  # force a rebuild every time
        out = dash_app.refresh_view(s, "EURUSD", None, key)
        out[2].to_plotly_json()
        key = out[-1]
    per_call = (time.perf_counter() - t0) / 10
    assert per_call < 0.2, per_call  # well under the 1 s interval


def test_explanation_view_defaults_to_newest_and_follows_selection():
    s = filled_store(n_points=10, n_signals=5)
    newest = s.newest_signal_id()
    sid, mode, summary, bar, heat, att, rendered = dash_app.explanation_view(s, None, "EURUSD", None)
    assert sid == newest and mode == "(newest)" and rendered == [newest, "newest"]
    assert heat.data[0].type == "heatmap"
    assert dash_app.explanation_view(s, None, "EURUSD", rendered)[0] is dash_app.no_update
    other = s.signals()[3].signal_id
    out = dash_app.explanation_view(s, other, "EURUSD", rendered)
    assert out[0] == other and out[1] == "(selected)"


def test_explanation_view_without_signals():
    s = Store()
    assert dash_app.explanation_view(s, None, None, None)[0] is dash_app.no_update


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
