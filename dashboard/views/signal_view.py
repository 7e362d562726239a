"""Signal view: the explanation of the selected signal (else the newest one).

Shows, all from the one archive record: the summary numbers, the SHAP waterfall
(base value -> features -> score), the feature bar, the cell heatmap (feature x
time), attention over event-level |SHAP| (or "this model has no attention"),
and the record's quality numbers in words with a band from the model version's
reference (``tickscope.dashboard.quality``). A signal not (or no longer) in the
live store is read from the archive.

In "follow newest" mode the panel re-renders at most every ``FOLLOW_MIN_MS``:
at 50 signals/s redrawing five figures per poll would keep the browser busy
for nothing a human can read.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from dash import Input, Output, State, dcc, html, no_update

from tickscope.dashboard import explain_figures, figures, quality
from tickscope.detectors.reference import reference_path
from tickscope.settings import get_settings

FOLLOW_MIN_MS = 5000
N_OUT = 9
_VERSION = re.compile(r"[0-9a-f]{64}")  # a model version is a sha256: never a path


def _graph(id_: str, height: int, fig) -> dcc.Graph:
    return dcc.Graph(id=id_, figure=fig, style={"height": f"{height}px"},
                     config={"displaylogo": False, "responsive": True, "displayModeBar": False})


def layout() -> html.Div:
    e = figures.empty_figure("no signal yet")
    return html.Div(id="explanation-panel", className="panel", children=[
        html.Div(className="panel-head", children=[
            html.H3("Explanation", style={"margin": "0 12px 0 0"}),
            html.Code(id="selected-signal-id", children=""),
            html.Span(id="selection-mode", className="muted", children=""),
            html.Button("follow newest", id="follow-latest", n_clicks=0, className="btn"),
            html.A("replay report", id="report-link", href="", target="_blank", className="btn",
                   style={"display": "none"}),
        ]),
        html.Div(id="explanation-summary", className="summary"),
        html.Div(className="grid2", children=[
            _graph("waterfall-graph", 330, e),
            _graph("feature-bar", 330, e),
        ]),
        html.Div(className="grid2", children=[
            _graph("shap-heatmap", 320, e),
            _graph("attention-graph", 320, e),
        ]),
        html.H4("Quality of this explanation", style={"margin": "6px 0 4px 0"}),
        html.Div(id="quality-table", className="quality"),
    ])


def _kv(items) -> list:
    return [html.Div(className="kv", children=[html.Span(k, className="k"), html.Span(v, className="v")])
            for k, v in items]


def reference_of(model_version: str, data_dir: Path | None = None) -> dict | None:
    """The calibration reference of a model version (packaged card, else the data directory), or None."""
    if not isinstance(model_version, str) or not _VERSION.fullmatch(model_version):
        return None
    data_dir = get_settings().data_dir if data_dir is None else data_dir
    ref = quality.load_reference(reference_path(model_version, data_dir))
    return ref if ref is not None and ref.get("model_version") == model_version else None


def quality_rows(rec: dict, locate=reference_of, stability_factor: float = 3.0) -> list:
    """The quality lines as page elements: label, band, and the raw numbers; the meaning on hover."""
    lines = quality.quality_lines(rec, locate(rec.get("model_version")), stability_factor)
    return [html.Div(className="qline", title=line.meaning, children=[
        html.Span(line.label, className="qlabel"),
        html.Span(line.band, className=f"band band-{line.band.replace(' ', '-')}"),
        html.Span(line.raw, className="qraw"),
    ]) for line in lines]


def explanation_view(store, selected: str | None, symbol: str | None, rendered, now_ms: int | None = None,
                     archive=None, locate=reference_of, stability_factor: float = 3.0) -> tuple:
    """Outputs of the explanation panel (``N_OUT`` values, ``no_update`` where nothing changed).

    ``rendered`` is [signal_id, mode, rendered_at_ms] of what the browser shows.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    rec = store.record(selected)
    mode = "selected"
    if rec is None and selected and archive is not None:
        if rendered and rendered[:2] == [selected, "selected · from archive"]:
            return (no_update,) * N_OUT
        rec = archive.record(selected)
        mode = "selected · from archive"
    if rec is None and selected:
        msg = f"signal {selected} is neither in the live store nor in the archive"
        e = figures.empty_figure(msg)
        if rendered and rendered[:2] == [selected, "missing"]:
            return (no_update,) * N_OUT
        return selected, "(not found)", [], e, e, e, e, [], [selected, "missing", now_ms]
    if rec is None:
        mode = "newest"
        rec = store.record(store.newest_signal_id(symbol) or store.newest_signal_id())
    if rec is None:
        if rendered is None:
            return (no_update,) * N_OUT
        e = figures.empty_figure("no signal yet")
        return "", "no signal yet", [], e, e, e, e, [], None
    if rendered and rendered[:2] == [rec["signal_id"], mode]:
        return (no_update,) * N_OUT
    if mode == "newest" and rendered and rendered[1] == "newest" and now_ms - int(rendered[2]) < FOLLOW_MIN_MS:
        return (no_update,) * N_OUT  # following a fast stream: at most one redraw per FOLLOW_MIN_MS
    return (rec["signal_id"], f"({mode})", _kv(figures.summary_items(rec)), explain_figures.waterfall_figure(rec),
            figures.feature_bar(rec), figures.shap_heatmap(rec), figures.attention_figure(rec),
            quality_rows(rec, locate, stability_factor), [rec["signal_id"], mode, now_ms])


def register(app, store, timings, archive=None, report_path: str = "", trigger: str = "poll-ack") -> None:
    """``trigger``: the store whose change means "news" (the poll ack, or the push stream's ``live``)."""
    factor = get_settings().alert_stability_factor  # where the instability detector alerts

    @app.callback(
        Output("selected-signal-id", "children"), Output("selection-mode", "children"),
        Output("explanation-summary", "children"), Output("waterfall-graph", "figure"),
        Output("feature-bar", "figure"), Output("shap-heatmap", "figure"), Output("attention-graph", "figure"),
        Output("quality-table", "children"), Output("rendered-signal", "data"),
        Input(trigger, "data"), Input("selected-signal", "data"), Input("symbol-dropdown", "value"),
        State("rendered-signal", "data"),
    )
    def _explain(_ack, selected, symbol, rendered):
        t0 = time.perf_counter()
        try:
            return explanation_view(store, selected, symbol, rendered, archive=archive, stability_factor=factor)
        finally:
            timings.add("explain", (time.perf_counter() - t0) * 1000)

    @app.callback(Output("report-link", "href"), Output("report-link", "style"),
                  Input("selected-signal-id", "children"))
    def _report_link(sid):
        if not sid or not report_path:
            return "", {"display": "none"}
        return f"{report_path}/{sid}", {}
