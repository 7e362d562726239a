"""Drift view: each feature's share of |feature attribution| over time, against a reference.

Per record, feature j's share is ``|feature_attributions[j]| / sum_k |feature_attributions[k]|``
(records whose attributions are all zero are skipped). The chart shows the
rolling mean of the shares over the last ``window`` signals (per symbol, or
all symbols), for the model version of the newest signal in the selection
(shares of different models are not comparable).

Reference, dashed: the model version's alert reference
(``tickscope.detectors.reference``: its ``feature_shares``) when it exists,
otherwise the mean share over the first ``window`` signals this dashboard
has seen, labelled as such.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html, no_update
from plotly.colors import qualitative

from tickscope.dashboard import figures
from tickscope.detectors.measures import shares
from tickscope.detectors.reference import reference_path
from tickscope.settings import get_settings

PALETTE = qualitative.D3  # one colour per feature, as in the offline report
REFRESH_MS = 2000


def layout() -> html.Div:
    return html.Div(className="panel", children=[
        html.Div(className="panel-head", children=[
            html.H3("Explanation drift", style={"margin": 0}),
            html.Span("symbol", className="muted"),
            dcc.Dropdown(id="drift-symbol", options=[{"label": "all symbols", "value": "*"}], value="*",
                         clearable=False, style={"width": "180px"}),
            html.Span("rolling window (signals)", className="muted"),
            dcc.Dropdown(id="drift-window", options=[{"label": str(n), "value": n} for n in (20, 50, 100, 250)],
                         value=50, clearable=False, style={"width": "90px"}),
        ]),
        html.P(id="drift-note", className="muted"),
        dcc.Graph(id="drift-graph", figure=figures.empty_figure("no signals yet"), style={"height": "380px"},
                  config={"displaylogo": False, "responsive": True}),
        dcc.Graph(id="drift-bars", figure=figures.empty_figure("no signals yet"), style={"height": "280px"},
                  config={"displaylogo": False, "responsive": True, "displayModeBar": False}),
    ])


def load_reference(path: Path, names: list[str]) -> list[float] | None:
    """The reference's feature shares, in ``names`` order; None without a readable reference for these names."""
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    values = obj.get("feature_shares") if isinstance(obj, dict) else None
    if obj.get("feature_names") != names or not isinstance(values, list) or len(values) != len(names):
        return None
    return shares(values).tolist() if shares(values) is not None else None


def drift_data(records: list[dict], window: int,
               locate: Callable[[str], Path] = reference_path) -> dict | None:
    """Rolling shares and the reference for ``records`` (oldest first by ts); None without usable records."""
    if not records:
        return None
    version = records[-1]["model_version"]
    recs = [r for r in records if r["model_version"] == version and r["feature_names"] == records[-1]["feature_names"]]
    rows = [(r["ts"], shares(r["feature_attributions"])) for r in recs]
    rows = [(ts, s) for ts, s in rows if s is not None]
    if not rows:
        return None
    share = np.stack([s for _, s in rows])
    ts = [t for t, _ in rows]
    w = max(1, min(window, len(share)))
    c = np.cumsum(np.vstack([np.zeros((1, share.shape[1])), share]), axis=0)
    rolling = (c[w:] - c[:-w]) / w  # mean of shares[i-w+1 .. i] for i >= w-1
    names = list(recs[-1]["feature_names"])
    ref = load_reference(locate(version), names)
    ref_label = f"reference: the training reference of model {version[:12]}"
    if ref is None:
        ref = share[:w].mean(axis=0).tolist()
        ref_label = f"reference: the first {w} signals seen by this dashboard (no reference file for this model)"
    return {"names": names, "ts": ts[w - 1:], "rolling": rolling, "reference": ref, "ref_label": ref_label,
            "version": version, "n": len(share), "window": w, "current": rolling[-1].tolist()}


def drift_figures(d: dict, scope: str) -> tuple[go.Figure, go.Figure, str]:
    names, ref = d["names"], d["reference"]
    fig = go.Figure()
    for j, name in enumerate(names):
        color = PALETTE[j % len(PALETTE)]
        fig.add_trace(go.Scattergl(x=d["ts"], y=d["rolling"][:, j], mode="lines", name=name,
                                   line=dict(color=color, width=1.6), legendgroup=name,
                                   hovertemplate=f"{name}: %{{y:.3f}}<br>%{{x|%Y-%m-%d %H:%M:%S}}<extra></extra>"))
        fig.add_hline(y=ref[j], line=dict(color=color, width=1, dash="dash"))
    fig.update_layout(template=figures.TEMPLATE, margin=figures.MARGIN, uirevision=scope,
                      title=dict(text=f"Share of |feature SHAP| ({scope}), rolling mean of {d['window']} signals; "
                                      "dashed = reference", x=0.01, font=dict(size=13)),
                      xaxis=dict(type="date", title="signal time (UTC)"), yaxis=dict(title="share", rangemode="tozero"))
    bars = go.Figure([
        go.Bar(x=names, y=d["current"], name=f"last {d['window']} signals", marker_color="#34495e",
               hovertemplate="%{x}: %{y:.3f}<extra></extra>"),
        go.Bar(x=names, y=ref, name="reference", marker_color="#b0b8c0", hovertemplate="%{x}: %{y:.3f}<extra></extra>"),
    ])
    l1 = float(np.abs(np.asarray(d["current"]) - np.asarray(ref)).sum())
    bars.update_layout(template=figures.TEMPLATE, margin=figures.MARGIN, barmode="group", uirevision=scope,
                       title=dict(text=f"Now vs reference · L1 distance {l1:.3f}", x=0.01, font=dict(size=13)),
                       yaxis=dict(title="share", rangemode="tozero"))
    note = (f"{d['n']} signals of model {d['version'][:12]} · {d['ref_label']} · share_j = |φ_j| / Σ_k |φ_k| "
            "from each record's feature_attributions")
    return fig, bars, note


def drift_update(store, scope: str, window: int, visible: bool, key, now_ms: int | None = None) -> tuple:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    options = [{"label": "all symbols", "value": "*"}] + [{"label": s, "value": s} for s in store.symbols()]
    new_key = [store.records_version, scope, window, now_ms // REFRESH_MS, len(options)]
    if key and len(key) > 4 and key[4] == len(options):
        options = no_update
    if not visible:
        return options, no_update, no_update, no_update, (no_update if options is no_update
                                                          else [None, None, None, None, len(options)])
    same_view = bool(key) and key[0] is not None and key[1:3] == new_key[1:3]
    if same_view and (key[0] == new_key[0] or key[3] == new_key[3]):  # unchanged, or throttled to REFRESH_MS
        return options, no_update, no_update, no_update, (no_update if options is no_update
                                                          else [*key[:4], len(options)])
    d = drift_data(store.records(None if scope == "*" else scope), int(window), _locate_reference)
    if d is None:
        e = figures.empty_figure("no signals with attributions yet")
        return options, e, e, "", new_key
    fig, bars, note = drift_figures(d, "all symbols" if scope == "*" else scope)
    return options, fig, bars, note, new_key


def _locate_reference(version: str) -> Path:
    """The packaged reference of a model version, else the one calibrated into the data directory."""
    return reference_path(version, get_settings().data_dir)


def register(app, store, timings, trigger: str = "poll-ack") -> None:
    """``trigger``: the store whose change means "news" (the poll ack, or the push stream's ``live``)."""
    @app.callback(
        Output("drift-symbol", "options"), Output("drift-graph", "figure"), Output("drift-bars", "figure"),
        Output("drift-note", "children"), Output("drift-key", "data"),
        Input(trigger, "data"), Input("drift-symbol", "value"), Input("drift-window", "value"),
        Input("view-tabs", "value"), State("drift-key", "data"),
    )
    def _drift(_ack, scope, window, tab, key):
        t0 = time.perf_counter()
        try:
            return drift_update(store, scope or "*", window or 50, tab == "drift", key)
        finally:
            timings.add("drift", (time.perf_counter() - t0) * 1000)
