"""Pure figure builders of the dashboard, on a synthetic archive record."""

from __future__ import annotations

import time

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard import figures
from streams.records import ArchiveRecord, signal_id_for

T, F = 32, 6
NAMES = ["ret_z", "mom_8", "mom_32", "vol_ratio", "range_8", "size_z"]


def synthetic_record(ts: int = 1_700_000_000_000, direction: str = "long", symbol: str = "EURUSD",
                     seed: int = 0) -> dict:
    """A schema-valid ArchiveRecord as a dict (validated through the model)."""
    rng = np.random.default_rng(seed)
    attributions = rng.normal(0, 0.01, size=(T, F))
    attributions[-1, 0] = 0.2  # one dominant cell
    segments = [[0, 8], [8, 16], [16, 24], [24, 32]]
    attention = rng.random(T)
    attention /= attention.sum()
    mv = "ab" * 32
    rec = ArchiveRecord(
        signal_id=signal_id_for(symbol, ts, mv), symbol=symbol, ts=ts, price=1.0842, model_version=mv,
        score=0.61 if direction == "long" else -0.61, threshold=0.5, direction=direction, feature_names=NAMES,
        window=rng.normal(size=(T, F)).tolist(), attributions=attributions.tolist(),
        event_attributions=[0.01, -0.02, 0.03, 0.25], segments=segments,
        feature_attributions=[0.21, -0.03, 0.05, 0.0, 0.02, -0.01], base_value=0.35,
        attention=attention.tolist(), attention_shap_spearman=0.42, additivity_error=1.5e-7,
        explainer={"method": "kernel", "params": {"nsamples": 512}, "seed": 1234},
        scored_at=ts + 5, produced_at=ts + 50,
    )
    return rec.model_dump()


@pytest.fixture
def rec():
    return synthetic_record()


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
    rec = synthetic_record()
    rec["attention_shap_spearman"] = None
    assert dict(figures.summary_items(rec))["attention/SHAP Spearman"] == "n/a"


def test_price_figure_markers_by_direction():
    ts = [1_700_000_000_000 + 3_600_000 * i for i in range(100)]
    prices = [1.08 + 0.0001 * i for i in range(100)]
    longs = synthetic_record(ts=ts[10], direction="long")
    shorts = [synthetic_record(ts=ts[50], direction="short"), synthetic_record(ts=ts[70], direction="short")]
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
    a, b = synthetic_record(ts=5, direction="long"), synthetic_record(ts=6, direction="short")
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


def test_price_figure_is_fast_with_many_points():
    n = 100_000
    ts = list(range(1_700_000_000_000, 1_700_000_000_000 + n * 1000, 1000))
    prices = list(np.linspace(1.0, 1.1, n))
    sigs = [synthetic_record(ts=ts[i], direction="long" if i % 2 else "short") for i in range(0, n, 1000)]
    from plotly.io.json import to_json_plotly

    t0 = time.perf_counter()
    for _ in range(3):
        to_json_plotly(figures.price_figure(ts, prices, sigs, "EURUSD"))
    assert (time.perf_counter() - t0) / 3 < 0.5


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


def test_waterfall_goes_from_base_value_through_features_to_score(rec):
    from dashboard import explain_figures

    fig = explain_figures.waterfall_figure(rec)
    (wf,) = fig.data
    assert wf.type == "waterfall"
    assert wf.x[0] == "base value" and wf.x[-1] == "score"
    assert wf.y[0] == rec["base_value"] and wf.y[-1] == rec["score"]
    assert list(wf.measure) == ["absolute"] + ["relative"] * F + ["absolute"]
    steps = dict(zip(wf.x[1:-1], wf.y[1:-1]))
    assert steps == dict(zip(rec["feature_names"], rec["feature_attributions"]))
    assert [abs(v) for v in wf.y[1:-1]] == sorted((abs(v) for v in rec["feature_attributions"]), reverse=True)


def test_quality_items_flatten_the_record_quality(rec):
    from dashboard import explain_figures

    rec = dict(rec, quality={"additivity": {"cells": 1e-7, "features": 0.0}, "stability": 0.5,
                             "deletion_k": [8, 32], "faithfulness": [0.3, 0.6], "deletion_random": None})
    items = dict(explain_figures.quality_items(rec))
    assert items["additivity.cells"] == "1.000e-07" and items["additivity.features"] == "0.0000"
    assert items["faithfulness (k=8)"] == "0.3000" and items["faithfulness (k=32)"] == "0.6000"
    assert items["stability"] == "0.5000" and items["deletion_random"] == "n/a" and "deletion_k" not in items
    assert explain_figures.quality_items(dict(rec, quality={})) == []
