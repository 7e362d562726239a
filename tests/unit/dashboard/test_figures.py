"""Pure figure builders of the dashboard, on a synthetic archive record."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from tests.support.records import F, T, figure_record
from tickscope.dashboard import figures


def test_feature_bar_shows_feature_attributions(rec):
    fig = figures.feature_bar(rec)
    assert isinstance(fig, go.Figure)
    (bar,) = fig.data
    assert bar.type == "bar" and bar.orientation == "h"
    assert dict(zip(bar.y, bar.x)) == dict(zip(rec["feature_names"], rec["feature_attributions"]))
    assert list(bar.y)[-1] == "ret_z"  # largest |SHAP| drawn on top
    assert fig.layout.uirevision == rec["signal_id"]


def test_heatmap_is_feature_by_time_and_centred(rec):
    fig = figures.shap_heatmap(rec)
    (hm,) = fig.data
    assert hm.type == "heatmap"
    z = np.asarray(hm.z)
    assert z.shape == (F, T)
    np.testing.assert_array_equal(z, np.asarray(rec["attributions"]).T)
    assert list(hm.y) == rec["feature_names"]
    assert list(hm.x) == list(range(T))
    assert hm.zmid == 0
    assert hm.zmin == -hm.zmax == pytest.approx(-0.2)  # symmetric: 0 sits in the middle of the scale
    cs = hm.colorscale
    assert cs[len(cs) // 2][0] == 0.5 and cs[0][1] != cs[-1][1]  # diverging


def test_attention_figure_line_over_segment_bars(rec):
    fig = figures.attention_figure(rec)
    bars = [t for t in fig.data if t.type == "bar"]
    lines = [t for t in fig.data if t.type == "scatter"]
    assert len(bars) == 1 and len(lines) == 1
    assert list(lines[0].y) == rec["attention"] and list(lines[0].x) == list(range(T))
    assert list(bars[0].y) == [abs(v) for v in rec["event_attributions"]]
    assert list(bars[0].width) == [8, 8, 8, 8]
    assert list(bars[0].x) == [3.5, 11.5, 19.5, 27.5]
    assert [c[2] for c in bars[0].customdata] == rec["event_attributions"]  # signed value in the hover
    assert bars[0].yaxis == "y2" and fig.layout.yaxis2.overlaying == "y"


def test_summary_numbers_come_from_the_record(rec):
    items = dict(figures.summary_items(rec))
    assert items["signal"] == rec["signal_id"]
    assert items["score"] == "0.61000" and items["base value"] == "0.35000"
    assert items["additivity error"] == "1.50e-07"
    assert items["attention/SHAP Spearman"] == "0.420"
    assert items["model"] == rec["model_version"][:12]
    assert items["explainer"] == "kernel (seed 1234)"
    assert items["time (UTC)"] == "2023-11-14 22:13:20"


def test_summary_without_spearman():
    rec = figure_record()
    rec["attention_shap_spearman"] = None
    assert dict(figures.summary_items(rec))["attention/SHAP Spearman"] == "n/a"


def test_price_figure_markers_by_direction():
    ts = [1_700_000_000_000 + 3_600_000 * i for i in range(100)]
    prices = [1.08 + 0.0001 * i for i in range(100)]
    longs = figure_record(ts=ts[10], direction="long")
    shorts = [figure_record(ts=ts[50], direction="short"), figure_record(ts=ts[70], direction="short")]
    fig = figures.price_figure(ts, prices, [longs, *shorts], "EURUSD", selected=shorts[0], uirevision="EURUSD")
    long_t, short_t, line, sel = fig["data"]
    assert line["type"] == "scatter" and line["mode"] == "lines" and len(line["x"]) == 100
    assert isinstance(line["x"], list)  # plain lists: plotly.js cannot extend a typed array with a plain one
    assert long_t["marker"]["symbol"] == "triangle-up" and long_t["marker"]["color"] == figures.LONG_COLOR
    assert short_t["marker"]["symbol"] == "triangle-down" and short_t["marker"]["color"] == figures.SHORT_COLOR
    assert [c[0] for c in long_t["customdata"]] == [longs["signal_id"]]
    assert [c[0] for c in short_t["customdata"]] == [s["signal_id"] for s in shorts]
    assert sel["x"] == [ts[50]]
    assert fig["layout"]["xaxis"]["type"] == "date" and fig["layout"]["uirevision"] == "EURUSD"
    go.Figure(fig)  # a valid plotly figure


def test_extend_update_appends_to_the_right_traces():
    a, b = figure_record(ts=5, direction="long"), figure_record(ts=6, direction="short")
    upd, idx, cap = figures.extend_update([5, 6], [1.0, 1.1], [a, b], b, max_points=100, max_markers=10,
                                          move_selection=True)
    assert idx == [figures.TRACE_LONG, figures.TRACE_SHORT, figures.TRACE_PRICE, figures.TRACE_SELECTED]
    assert upd["x"] == [[5], [6], [5, 6], [6]] and upd["y"][2] == [1.0, 1.1]
    assert upd["customdata"][0] == [[a["signal_id"], a["score"], a["threshold"]]]
    assert cap["x"] == [10, 10, 100, 1] and set(cap) == set(upd)
    assert figures.extend_update([], [], [], None, max_points=1, max_markers=1, move_selection=False) is None
    upd, idx, _ = figures.extend_update([], [], [], None, max_points=1, max_markers=1, move_selection=True)
    assert idx == [figures.TRACE_SELECTED] and upd["x"] == [[None]]  # selection cleared: ring hidden


def test_price_figure_empty():
    fig = figures.price_figure([], [], [], None)
    assert len(fig["data"]) == 0 and "waiting" in fig["layout"]["annotations"][0]["text"]


def test_price_figure_with_100k_points_carries_every_point_and_marker_once():
    n = 100_000
    ts = list(range(1_700_000_000_000, 1_700_000_000_000 + n * 1000, 1000))
    prices = list(np.linspace(1.0, 1.1, n))
    sigs = [figure_record(ts=ts[i], direction="long" if i % 2 else "short") for i in range(0, n, 1000)]
    from plotly.io.json import to_json_plotly

    fig = figures.price_figure(ts, prices, sigs, "EURUSD")
    price, longs, shorts = (fig["data"][i] for i in (figures.TRACE_PRICE, figures.TRACE_LONG, figures.TRACE_SHORT))
    assert len(price["x"]) == n and len(longs["x"]) + len(shorts["x"]) == len(sigs)
    assert len(to_json_plotly(fig)) < 40 * n  # plain number arrays (~33 bytes a point), not per-point objects


def test_view_from_relayout_zoom_pan_reset_and_symbol_switch():
    v = figures.view_from_relayout(None, {"xaxis.range[0]": "2017-05-01 02:00", "xaxis.range[1]": "2017-05-06",
                                          "yaxis.range[0]": 1.08, "yaxis.range[1]": 1.1}, "EURUSD")
    assert v == {"symbol": "EURUSD", "x": ["2017-05-01 02:00", "2017-05-06"], "y": [1.08, 1.1]}
    assert figures.view_from_relayout(v, {"dragmode": "pan"}, "EURUSD") == v  # not an axis change
    assert figures.view_from_relayout(v, {"xaxis.range": ["a", "b"]}, "EURUSD")["x"] == ["a", "b"]
    reset = figures.view_from_relayout(v, {"xaxis.autorange": True, "yaxis.autorange": True}, "EURUSD")
    assert reset == {"symbol": "EURUSD", "x": None, "y": None}
    assert figures.view_from_relayout(v, {"autosize": True}, "BTCUSD") == {"symbol": "BTCUSD", "x": None, "y": None}
    fig = figures.price_figure([1, 2], [1.0, 2.0], [], "EURUSD", view=v)
    assert fig["layout"]["xaxis"]["range"] == v["x"] and fig["layout"]["xaxis"]["autorange"] is False
    assert "range" not in figures.price_figure([1, 2], [1.0, 2.0], [], "BTCUSD", view=v)["layout"]["xaxis"]


# ---- signal view extras --------------------------------------------------------------------------


