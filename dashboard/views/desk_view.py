"""Desk view: per-symbol price chart with signal markers, and the table of recent signals.

The browser keeps a cursor of what it has (store id, symbol, points received,
last signal arrival number) and gets only what it lacks: new points and
markers as ``extendData`` (plotly.js keeps the newest ``browser_points`` of the
line), new table rows as a ``Patch`` (``tickscope.dashboard.deltas``). The whole
figure goes out only on page load, symbol switch, or when the browser fell
further behind than the store keeps. When the chart holds fewer points than
were received, ``cap-note`` says "showing last N".

Push (default): ``tickscope.dashboard.push`` calls ``chart_update`` and the
table helpers for each page and sends the deltas over the page's WebSocket.
Poll (``--poll``): ``register`` wires ``desk_update`` to the poll gate of
``tickscope.dashboard.app``.
"""

from __future__ import annotations

import re

from dash import Input, Output, State, dash_table, dcc, html, no_update

from tickscope.dashboard import deltas, figures

TABLE_ROWS = 50
_SID = re.compile(r"^[0-9a-f]{32}$")


def layout() -> html.Div:
    table = dash_table.DataTable(
        id="signals-table",
        columns=[
            {"name": "time (UTC)", "id": "time"},
            {"name": "symbol", "id": "symbol"},
            {"name": "direction", "id": "direction"},
            {"name": "score", "id": "score", "type": "numeric"},
            {"name": "threshold", "id": "threshold", "type": "numeric"},
            {"name": "signal_id", "id": "signal_id"},
        ],
        data=[], page_size=10, page_action="native", sort_action="none", cell_selectable=True,
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "ui-monospace, SFMono-Regular, Menlo, monospace", "fontSize": "12px",
                    "padding": "4px 8px", "textAlign": "left", "cursor": "pointer"},
        style_header={"fontWeight": "600", "backgroundColor": "#f4f6f8"},
    )
    graph = dcc.Graph(id="price-graph", figure=figures.empty_figure("waiting for ticks…"), style={"height": "380px"},
                      config={"displaylogo": False, "responsive": True, "displayModeBar": "hover"})
    return html.Div(children=[
        html.Div(className="panel", children=[graph, html.Div(id="cap-note", className="muted", children="")]),
        html.Div(className="panel", children=[
            html.H3("Recent signals", style={"margin": "0 0 8px 0"}),
            html.Span("newest first by event time; click a row to explain it", className="muted"),
            table,
        ]),
        dcc.Store(id="price-cursor", data=None),
        dcc.Store(id="price-view", data=None),
    ])


def _ring(store, selected: str | None, symbol: str | None):
    rec = store.record(selected)
    if rec is None or rec["symbol"] != symbol:
        return None
    return {"ts": rec["ts"], "price": rec["price"]}


def table_rows(store) -> list[dict]:
    """The newest ``TABLE_ROWS`` signals by event time, as table rows (``id`` = signal id, for ``row_id``)."""
    return [
        {"id": r.signal_id, "time": figures.utc_text(r.ts), "symbol": r.symbol, "direction": r.direction,
         "score": round(r.score, 6), "threshold": round(r.threshold, 6), "signal_id": r.signal_id}
        for r in store.signals(limit=TABLE_ROWS)
    ]


def row_style(selected: str | None) -> list[dict]:
    style = [
        {"if": {"filter_query": '{direction} = "long"', "column_id": "direction"}, "color": figures.LONG_COLOR,
         "fontWeight": "600"},
        {"if": {"filter_query": '{direction} = "short"', "column_id": "direction"}, "color": figures.SHORT_COLOR,
         "fontWeight": "600"},
    ]
    if selected and _SID.match(selected):
        style.append({"if": {"filter_query": '{signal_id} = "%s"' % selected}, "backgroundColor": "#fff3cd"})
    return style


def feed_text(store) -> str:
    st, c = store.snapshot_status()
    parts = [st.state]
    if st.detail:
        parts.append(st.detail)
    parts.append(f"{c.get('ticks', 0)} ticks")
    if c.get("ticks_rejected"):
        parts.append(f"{c['ticks_rejected']} invalid skipped")
    if c.get("records_duplicate"):
        parts.append(f"{c['records_duplicate']} duplicate records skipped")
    return " · ".join(parts)


def count_text(store) -> str:
    n = store.n_records()
    return f"{n} signal{'' if n == 1 else 's'}"


def pick_symbol(store, symbol: str | None, selected: str | None, selection_changed: bool) -> str | None:
    """The symbol to show: the opened signal's (when the selection just changed), else the one asked for if
    it exists, else the symbol of the newest signal, else the first one."""
    symbols = store.symbols()
    sel_rec = store.record(selected) if selected and selection_changed else None
    if sel_rec is not None:
        return sel_rec["symbol"]
    if symbol in symbols:
        return symbol
    newest = store.signals(limit=1)
    return newest[0].symbol if newest else (symbols[0] if symbols else None)


def chart_update(store, symbol: str | None, selected: str | None, cursor: dict | None, view: dict | None, *,
                 line_type: str = "scatter", browser_points: int | None = None) -> dict:
    """What the price chart needs: {"figure", "extend", "note", "cursor"} (None where nothing is sent).

    ``cursor`` is what the browser has (None: nothing yet); the returned one is what it has after this.
    ``browser_points`` caps the line in the browser (default: the store's cap).
    """
    cap = min(browser_points or store.max_points, store.max_points)
    cursor = dict(cursor or {})
    ring = _ring(store, selected, symbol)
    out = {"figure": None, "extend": None, "note": None}
    full = (cursor.get("uid") != store.uid or cursor.get("symbol") != symbol or symbol is None
            or cursor.get("empty", True))
    new = {"uid": store.uid, "symbol": symbol, "sel": selected, "cap": cap}
    if not full:
        ts, prices, total, ok = store.prices_since(symbol, cursor.get("pts", 0))
        if ok:
            sigs, seq = store.signals_since(symbol, cursor.get("seq", 0))
            out["extend"] = figures.extend_update(
                ts, prices, sigs, ring, max_points=cap, max_markers=store.max_records,
                move_selection=cursor.get("sel") != selected)
            new.update(pts=total, seq=seq, empty=False)
        else:
            full = True
    if full:
        seq = store.arrival_seq  # before the signals: one arriving in between is sent twice, never lost
        ts, prices, total = store.price_snapshot(symbol) if symbol else ([], [], 0)
        sigs = store.signals(symbol) if symbol else []
        still_empty = not (ts or sigs) and cursor.get("uid") == store.uid and cursor.get("symbol") == symbol \
            and cursor.get("empty", False)
        if not still_empty:  # an empty chart is not re-sent every update
            out["figure"] = figures.price_figure(ts[-cap:], prices[-cap:], sigs, symbol, selected=ring,
                                                 uirevision=symbol, view=view, line_type=line_type)
        new.update(pts=total, seq=seq, empty=not (ts or sigs))
    shown = min(cap, new["pts"])
    note = deltas.cap_note(shown, new["pts"])
    if note != cursor.get("note") or full:
        out["note"] = note
    new["note"] = note
    out["cursor"] = new
    return out


def desk_update(store, symbol: str | None, selected: str | None, cursor: dict | None, view: dict | None,
                selection_changed: bool = False, line_type: str = "scatter",
                browser_points: int | None = None) -> dict:
    """Everything one poll changes on the desk, as {output name: value or no_update}.

    ``cursor`` is what the browser has (None on page load); the returned ``cursor`` is
    what it has after applying this update. Keys: options, symbol, figure, extend,
    note, rows, style, count, status, cursor.
    """
    cursor = dict(cursor or {})
    symbols = store.symbols()
    symbol = pick_symbol(store, symbol, selected, selection_changed)
    chart = chart_update(store, symbol, selected, cursor.get("chart"), view, line_type=line_type,
                         browser_points=browser_points)
    nu = no_update
    out = {"options": [{"label": s, "value": s} for s in symbols] if cursor.get("symbols") != symbols else nu,
           "symbol": symbol, "figure": nu if chart["figure"] is None else chart["figure"],
           "extend": nu if chart["extend"] is None else chart["extend"],
           "note": nu if chart["note"] is None else chart["note"], "rows": nu, "style": nu,
           "count": count_text(store), "status": feed_text(store)}
    new = {"symbols": symbols, "sel": selected, "rv": store.records_version, "chart": chart["cursor"]}
    if chart["figure"] is not None or cursor.get("rv") != new["rv"] or cursor.get("sel") != selected:
        out["rows"] = table_rows(store)
        out["style"] = row_style(selected)
    out["cursor"] = new
    return out


OUTPUTS = ("options", "symbol", "figure", "extend", "note", "rows", "style", "count", "status", "cursor")


def register(app, store, timings, line_type: str = "scatter", browser_points: int | None = None) -> None:
    """Poll mode: one callback per poll answers with ``desk_update``."""
    import time

    from dash import ctx

    @app.callback(
        Output("symbol-dropdown", "options"), Output("symbol-dropdown", "value"),
        Output("price-graph", "figure"), Output("price-graph", "extendData"), Output("cap-note", "children"),
        Output("signals-table", "data"), Output("signals-table", "style_data_conditional"),
        Output("signal-count", "children"), Output("feed-status", "children"), Output("price-cursor", "data"),
        Output("poll-ack", "data"),
        Input("poll-req", "data"), Input("symbol-dropdown", "value"), Input("selected-signal", "data"),
        State("price-cursor", "data"), State("price-view", "data"),
    )
    def _desk(req, symbol, selected, cursor, view):
        t0 = time.perf_counter()
        try:
            out = desk_update(store, symbol, selected, cursor, view,
                              selection_changed=ctx.triggered_id == "selected-signal", line_type=line_type,
                              browser_points=browser_points)
            if out["symbol"] == symbol:
                out["symbol"] = no_update
            ack = req["n"] if isinstance(req, dict) else no_update
            return tuple(out[k] for k in OUTPUTS) + (ack,)
        finally:
            timings.add("desk", (time.perf_counter() - t0) * 1000)

    register_zoom(app)


def register_zoom(app) -> None:
    """Both modes: remember the zoom so a rebuilt figure (symbol switch, reload) keeps it."""
    @app.callback(
        Output("price-view", "data"),
        Input("price-graph", "relayoutData"), State("price-view", "data"), State("symbol-dropdown", "value"),
        prevent_initial_call=True,
    )
    def _zoom(relayout, view, symbol):
        new = figures.view_from_relayout(view, relayout, symbol)
        return no_update if new == view else new
