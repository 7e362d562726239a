"""The desk view's update function: the figure once, then only new points."""

from __future__ import annotations

from dash import no_update

from tests.support.records import BASE_TS, filled_store, record_bytes
from tickscope.dashboard.live_store import Store


def test_desk_update_full_then_incremental():
    from tickscope.dashboard.views import desk_view as desk

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
    other = dict(inc["cursor"], chart=dict(inc["cursor"]["chart"], uid="elsewhere"))
    assert desk.desk_update(s, "EURUSD", None, other, None)["figure"] is not no_update


def test_desk_update_resends_when_the_browser_fell_behind():
    from tickscope.dashboard.views import desk_view as desk

    s = Store(max_points=100)
    for i in range(50):
        s.add_point("EURUSD", BASE_TS + i, 1.0)
    cur = desk.desk_update(s, None, None, None, None)["cursor"]
    for i in range(50, 300):
        s.add_point("EURUSD", BASE_TS + i, 1.0)
    out = desk.desk_update(s, "EURUSD", None, cur, None)
    assert out["figure"] is not no_update and len(out["figure"]["data"][2]["x"]) == 100


def test_desk_update_switches_to_the_symbol_of_an_opened_signal():
    from tickscope.dashboard.views import desk_view as desk

    s = filled_store(n_points=10, n_signals=3)
    s.add_record_raw(record_bytes(BASE_TS + 5, symbol="BTCUSD"))
    sid = s.signals("BTCUSD")[0].signal_id
    out = desk.desk_update(s, "EURUSD", sid, None, None, selection_changed=True)
    assert out["symbol"] == "BTCUSD"


def test_desk_update_with_100k_points_sends_the_figure_once_then_only_new_points():
    from plotly.io.json import to_json_plotly

    from tickscope.dashboard.views import desk_view as desk

    s = Store(max_points=100_000)
    for i in range(100_000):
        s.add_point("EURUSD", BASE_TS + i * 1000, 1.1 + 1e-6 * (i % 1000))
    for i in range(200):
        s.add_record_raw(record_bytes(BASE_TS + i * 500_000))
    out = desk.desk_update(s, "EURUSD", None, None, None)
    size = len(to_json_plotly(out["figure"]))
    cur = out["cursor"]
    for i in range(20):
        s.add_point("EURUSD", BASE_TS + 10**9 + i, 1.2)
        out = desk.desk_update(s, "EURUSD", None, cur, None)
        assert out["figure"] is no_update, "an update with one new point must not resend the figure"
        assert len(to_json_plotly(out["extend"])) < 1_000  # the one new point, not the 100k
        cur = out["cursor"]
    assert size < 4_000_000, size




def test_chart_is_capped_in_the_browser_and_says_so():
    from tickscope.dashboard.views import desk_view as desk

    s = Store(max_points=1000)
    for i in range(300):
        s.add_point("EURUSD", BASE_TS + i, 1.0)
    out = desk.chart_update(s, "EURUSD", None, None, None, browser_points=100)
    assert len(out["figure"]["data"][2]["x"]) == 100 and out["figure"]["data"][2]["x"][-1] == BASE_TS + 299
    assert out["note"] == "showing last 100 of 300 price points received"
    s.add_point("EURUSD", BASE_TS + 300, 1.0)
    inc = desk.chart_update(s, "EURUSD", None, out["cursor"], None, browser_points=100)
    upd, idx, cap = inc["extend"]
    assert idx == [2] and cap["x"] == [100]  # plotly keeps the newest 100 in the browser
    assert inc["note"] == "showing last 100 of 301 price points received"
    few = Store()
    few.add_point("EURUSD", BASE_TS, 1.0)
    assert desk.chart_update(few, "EURUSD", None, None, None, browser_points=100)["note"] == ""  # cap not applied


def test_pick_symbol():
    from tickscope.dashboard.views import desk_view as desk

    s = filled_store(n_points=10, n_signals=3)
    s.add_record_raw(record_bytes(BASE_TS + 5, symbol="BTCUSD"))
    sid = s.signals("BTCUSD")[0].signal_id
    assert desk.pick_symbol(s, "EURUSD", sid, True) == "BTCUSD"
    assert desk.pick_symbol(s, "EURUSD", sid, False) == "EURUSD"
    assert desk.pick_symbol(s, "NOPE", None, False) == s.signals(limit=1)[0].symbol
    assert desk.pick_symbol(Store(), None, None, False) is None
