"""Pure figure builders: plain data (an archive record as a dict) in, a plotly Figure out.

Nothing here touches Kafka, Dash or global state, so every builder is unit
tested with a synthetic record. Every number drawn comes from the record as
it is; the only transformations are layout ones (transposing [T][F] to
[F][T] for the heatmap, taking the absolute value of a segment's SHAP value
for the |SHAP| bars, formatting).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from tickscope.contracts.times import iso_utc

LONG_COLOR = "#1a9850"
SHORT_COLOR = "#d73027"
POS_COLOR = "#d6604d"  # SHAP > 0: pushes the score up
NEG_COLOR = "#4393c3"  # SHAP < 0: pushes the score down
PRICE_COLOR = "#34495e"
ATTENTION_COLOR = "#6a3d9a"
TEMPLATE = "plotly_white"
# Diverging, white at 0 (zmid=0 pins the middle of the scale to zero).
DIVERGING = [[0.0, "#2166ac"], [0.25, "#92c5de"], [0.5, "#f7f7f7"], [0.75, "#f4a582"], [1.0, "#b2182b"]]
MARGIN = dict(l=60, r=20, t=40, b=40)
_TEMPLATE_JSON: dict | None = None


def _template() -> dict:
    global _TEMPLATE_JSON
    if _TEMPLATE_JSON is None:
        _TEMPLATE_JSON = pio.templates[TEMPLATE].to_plotly_json()
    return _TEMPLATE_JSON


def utc_text(ts_ms: int) -> str:
    """Epoch milliseconds -> 'YYYY-MM-DD HH:MM:SS' in UTC."""
    return iso_utc(ts_ms, timespec="seconds").replace("T", " ").removesuffix("Z")


def short_version(model_version: str, n: int = 12) -> str:
    return model_version[:n]


def empty_figure(message: str, height: int | None = None) -> go.Figure:
    """A blank figure carrying a centred message (no axes)."""
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE, margin=MARGIN, height=height,
        xaxis=dict(visible=False), yaxis=dict(visible=False),
        annotations=[dict(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                          font=dict(size=14, color="#7f8c8d"))],
    )
    return fig


def _get(sig, name):
    return sig[name] if isinstance(sig, dict) else getattr(sig, name)


def view_from_relayout(view: dict | None, relayout: dict | None, symbol: str | None) -> dict:
    """The price chart's zoom after a plotly ``relayoutData`` event: {"symbol", "x", "y"}.

    ``x``/``y`` are [lo, hi] axis ranges or None (autorange). A zoom belongs to one symbol;
    switching symbols starts unzoomed. Events that do not touch the axes keep the view.
    """
    cur = dict(view) if view and view.get("symbol") == symbol else {"symbol": symbol, "x": None, "y": None}
    for axis in ("x", "y"):
        ev = relayout or {}
        name = f"{axis}axis"
        if ev.get(f"{name}.autorange"):
            cur[axis] = None
        elif f"{name}.range[0]" in ev and f"{name}.range[1]" in ev:
            cur[axis] = [ev[f"{name}.range[0]"], ev[f"{name}.range[1]"]]
        elif isinstance(ev.get(f"{name}.range"), list) and len(ev[f"{name}.range"]) == 2:
            cur[axis] = list(ev[f"{name}.range"])
    return cur


TRACE_LONG, TRACE_SHORT, TRACE_PRICE, TRACE_SELECTED = 0, 1, 2, 3


def _marker_trace(direction: str, color: str, shape: str, rows: list) -> dict:
    return dict(
        type="scattergl", mode="markers", name=f"{direction} signal",
        x=[_get(s, "ts") for s in rows], y=[_get(s, "price") for s in rows],
        customdata=[[_get(s, "signal_id"), _get(s, "score"), _get(s, "threshold")] for s in rows],
        marker=dict(symbol=shape, color=color, size=12, line=dict(color="white", width=1)),
        hovertemplate=(f"<b>{direction}</b> %{{x|%Y-%m-%d %H:%M:%S}} UTC<br>price %{{y}}<br>"
                       "score %{customdata[1]:.4f} (threshold %{customdata[2]:.4f})<br>"
                       "%{customdata[0]}<extra></extra>"),
    )


def price_figure(ts: list[int], prices: list[float], signals: list, symbol: str | None,
                 selected: object | None = None, uirevision: str | None = None,
                 view: dict | None = None, line_type: str = "scatter") -> dict:
    """Price line (x = epoch ms on a date axis, UTC) with signal markers (WebGL), as a plain figure dict.

    ``line_type`` "scatter" (SVG; plotly simplifies the path to the pixels it covers) or
    "scattergl" (WebGL). Measured in headless Chromium without a GPU (software WebGL) with
    100k points: SVG extends in ~0.1 s and zooms in ~0.15 s, WebGL takes 1.6-4.9 s and
    ~2 s, so SVG is the default; with a GPU WebGL is the better choice (``--render webgl``).

    Four traces at fixed indices so ``extend_update`` can append to them: long markers,
    short markers (green up / red down triangles, customdata = [signal_id, score,
    threshold] so a click selects the signal), the price line, and the ring around the
    selected signal (``selected``: a row with ts/price, or None). Arrays are plain lists:
    plotly.js refuses to extend a typed array with a plain one, and ``extendData``
    arrives as plain JSON arrays. ``view`` (see ``view_from_relayout``) pins a zoom so
    it survives a rebuild; ``uirevision`` keeps the rest of the UI state.
    """
    rev = uirevision or symbol
    if not ts and not signals:
        fig = empty_figure(f"waiting for ticks of {symbol}" if symbol else "waiting for ticks…")
        fig.update_layout(uirevision=rev)
        return fig.to_plotly_json()
    longs = [s for s in signals if _get(s, "direction") == "long"]
    shorts = [s for s in signals if _get(s, "direction") == "short"]
    # Markers come first: a signal sits exactly on the price line, and on equal distance
    # plotly's hover/click picks the earlier trace, so the signal (with its id) wins.
    data = [
        _marker_trace("long", LONG_COLOR, "triangle-up", longs),
        _marker_trace("short", SHORT_COLOR, "triangle-down", shorts),
        dict(type=line_type, mode="lines", name="price", x=[int(t) for t in ts], y=[float(p) for p in prices],
             customdata=[], line=dict(color=PRICE_COLOR, width=1.2),
             hovertemplate="%{x|%Y-%m-%d %H:%M:%S} UTC<br>price %{y}<extra></extra>"),
        dict(type="scatter", mode="markers", name="selected", hoverinfo="skip", showlegend=False,
             x=[_get(selected, "ts")] if selected is not None else [],
             y=[_get(selected, "price")] if selected is not None else [], customdata=[],
             marker=dict(symbol="circle-open", size=22, color="#f39c12", line=dict(width=3))),
    ]
    layout = dict(
        template=_template(), margin=MARGIN, uirevision=rev,
        title=dict(text=f"{symbol} price (UTC)" if symbol else "price (UTC)", x=0.01, font=dict(size=14)),
        xaxis=dict(type="date", title=None), yaxis=dict(title="price", tickformat=".5~f"),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0.22),  # clear of the modebar
        hovermode="closest", clickmode="event",
    )
    if view and view.get("symbol") == symbol:
        if view.get("x"):
            layout["xaxis"].update(range=list(view["x"]), autorange=False)
        if view.get("y"):
            layout["yaxis"].update(range=list(view["y"]), autorange=False)
    return dict(data=data, layout=layout)


def extend_update(ts: list[int], prices: list[float], signals: list, selected: object | None, *,
                  max_points: int, max_markers: int, move_selection: bool) -> list | None:
    """A ``dcc.Graph.extendData`` value appending new points and markers to ``price_figure``'s traces.

    ``[update, trace_indices, max_points]``: plotly keeps the newest ``max_points`` per
    trace, so the chart is a rolling window like the store. With ``move_selection`` the
    ring trace (max 1 point) is moved to ``selected`` (None: hidden with a null point).
    None when there is nothing to send.
    """
    longs = [s for s in signals if _get(s, "direction") == "long"]
    shorts = [s for s in signals if _get(s, "direction") == "short"]
    upd: dict = {"x": [], "y": [], "customdata": []}
    idx: list[int] = []
    cap: dict = {"x": [], "y": [], "customdata": []}

    def add(i, xs, ys, cds, n):
        idx.append(i)
        for k, v in (("x", xs), ("y", ys), ("customdata", cds)):
            upd[k].append(v)
            cap[k].append(n)

    for i, rows in ((TRACE_LONG, longs), (TRACE_SHORT, shorts)):
        if rows:
            add(i, [_get(s, "ts") for s in rows], [_get(s, "price") for s in rows],
                [[_get(s, "signal_id"), _get(s, "score"), _get(s, "threshold")] for s in rows], max_markers)
    if ts:
        add(TRACE_PRICE, [int(t) for t in ts], [float(p) for p in prices], [], max_points)
    if move_selection:
        add(TRACE_SELECTED, [_get(selected, "ts") if selected is not None else None],
            [_get(selected, "price") if selected is not None else None], [], 1)
    return [upd, idx, cap] if idx else None


def _time_steps(rec: dict) -> list[int]:
    return list(range(len(rec["attributions"])))


def feature_bar(rec: dict) -> go.Figure:
    """Feature-level SHAP values (``feature_attributions``), one horizontal bar per feature."""
    names = list(rec["feature_names"])
    values = [float(v) for v in rec["feature_attributions"]]
    order = sorted(range(len(names)), key=lambda i: abs(values[i]))  # largest |SHAP| on top
    fig = go.Figure(go.Bar(
        x=[values[i] for i in order], y=[names[i] for i in order], orientation="h",
        marker_color=[POS_COLOR if values[i] >= 0 else NEG_COLOR for i in order],
        text=[f"{values[i]:+.4f}" for i in order], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: SHAP %{x:+.5f}<extra></extra>", name="feature SHAP",
    ))
    lo, hi = min(0.0, *values), max(0.0, *values)
    pad = 0.35 * max(hi - lo, 1e-12)  # room for the value labels outside the bars
    fig.update_layout(
        template=TEMPLATE, margin=dict(l=90, r=20, t=40, b=40),
        title=dict(text="Feature SHAP (feature-level game)", x=0.01, font=dict(size=13)),
        xaxis=dict(title="SHAP value of score", zeroline=True, zerolinecolor="#888",
                   range=[lo - (pad if lo < 0 else 0), hi + (pad if hi > 0 else 0)]),
        yaxis=dict(title=None), uirevision=rec["signal_id"], showlegend=False,
    )
    return fig


def shap_heatmap(rec: dict) -> go.Figure:
    """Cell-level SHAP (``attributions`` [T][F]) as feature x time, diverging scale centred at 0."""
    attr = np.asarray(rec["attributions"], dtype=np.float64)  # [T][F]
    window = np.asarray(rec["window"], dtype=np.float64)
    steps = _time_steps(rec)
    bound = float(np.max(np.abs(attr))) if attr.size else 0.0
    fig = go.Figure(go.Heatmap(
        z=attr.T.tolist(), x=steps, y=list(rec["feature_names"]),  # [F][T] plain lists: small, readable JSON
        customdata=window.T.tolist() if window.shape == attr.shape else None,
        colorscale=DIVERGING, zmid=0.0, zmin=-bound if bound else None, zmax=bound if bound else None,
        colorbar=dict(title=dict(text="SHAP"), thickness=12),
        hovertemplate=("step %{x} · %{y}<br>SHAP %{z:+.5f}"
                       + ("<br>input %{customdata:.4f}" if window.shape == attr.shape else "")
                       + "<extra></extra>"),
        name="cell SHAP",
    ))
    last = len(steps) - 1
    fig.update_layout(
        template=TEMPLATE, margin=dict(l=90, r=20, t=40, b=45),
        title=dict(text="Cell SHAP: feature × time step", x=0.01, font=dict(size=13)),
        xaxis=dict(title=f"time step (0 = oldest, {last} = signal tick)"), yaxis=dict(title=None, autorange="reversed"),
        uirevision=rec["signal_id"],
    )
    return fig


def attention_figure(rec: dict) -> go.Figure:
    """Attention weights per time step (line) over event-level |SHAP| (bars, one per segment).

    Each segment [start, stop) of ``segments`` is drawn as one bar spanning its time steps
    with height |event_attributions[g]|; the colour gives the sign.
    """
    if rec.get("attention") is None:  # a model without attention: say so, draw nothing made up
        return empty_figure("this model has no attention")
    attention = [float(a) for a in rec["attention"]]
    steps = list(range(len(attention)))
    ev = [float(v) for v in rec["event_attributions"]]
    segs = [tuple(s) for s in rec["segments"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(
        x=[(a + b - 1) / 2 for a, b in segs], y=[abs(v) for v in ev], width=[b - a for a, b in segs],
        marker=dict(color=[POS_COLOR if v >= 0 else NEG_COLOR for v in ev], opacity=0.45,
                    line=dict(color="white", width=1)),
        customdata=[[a, b - 1, v] for (a, b), v in zip(segs, ev)],
        hovertemplate="steps %{customdata[0]}–%{customdata[1]}<br>event SHAP %{customdata[2]:+.5f}<extra></extra>",
        name="event |SHAP| (per segment)", yaxis="y2",
    ))
    fig.add_trace(go.Scatter(
        x=steps, y=attention, mode="lines+markers", name="attention",
        line=dict(color=ATTENTION_COLOR, width=2), marker=dict(size=4),
        hovertemplate="step %{x}<br>attention %{y:.4f}<extra></extra>",
    ))
    last = len(steps) - 1
    fig.update_layout(
        template=TEMPLATE, margin=dict(l=60, r=60, t=40, b=80),
        title=dict(text="Attention vs event-level |SHAP|", x=0.01, font=dict(size=13)),
        xaxis=dict(title=f"time step (0 = oldest, {last} = signal tick)", range=[-0.5, last + 0.5]),
        yaxis=dict(title=dict(text="attention weight", font=dict(color=ATTENTION_COLOR)), rangemode="tozero"),
        yaxis2=dict(title="|event SHAP|", overlaying="y", side="right", rangemode="tozero", showgrid=False,
                    tickmode="auto", nticks=5),
        legend=dict(orientation="h", yanchor="top", y=-0.28, xanchor="left", x=0.0),
        uirevision=rec["signal_id"], bargap=0,
    )
    return fig


def _fmt(v, spec: str = ".5f") -> str:
    return "n/a" if v is None else format(float(v), spec)


def summary_items(rec: dict) -> list[tuple[str, str]]:
    """(label, text) pairs of the numbers shown next to the explanation, all from the record."""
    ex = rec["explainer"]
    return [
        ("signal", rec["signal_id"]),
        ("symbol", rec["symbol"]),
        ("time (UTC)", utc_text(rec["ts"])),
        ("price", format(float(rec["price"]), ".6g")),
        ("direction", rec["direction"]),
        ("score", _fmt(rec["score"])),
        ("threshold", _fmt(rec["threshold"])),
        ("base value", _fmt(rec["base_value"])),
        ("additivity error", _fmt(rec["additivity_error"], ".2e")),
        ("attention/SHAP Spearman", _fmt(rec.get("attention_shap_spearman"), ".3f")
         if rec.get("attention") is not None else "n/a: this model has no attention"),
        ("model", short_version(rec["model_version"])),
        ("explainer", f"{ex['method']} (seed {ex['seed']})"),
    ]
