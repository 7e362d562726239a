"""Dash layout and callbacks of the live desk dashboard, plus the token gate.

One ``dcc.Interval`` ticks every second; callbacks read the shared ``Store``
and return ``no_update`` when nothing they show has changed, so an idle
dashboard sends almost nothing. Figures carry ``uirevision`` so zoom and pan
survive updates.

Element ids (stable; the e2e test relies on them): ``symbol-dropdown``,
``price-graph``, ``signals-table``, ``signal-count``, ``feed-status``,
``explanation-panel``, ``selected-signal-id``, ``selection-mode``,
``explanation-summary``, ``feature-bar``, ``shap-heatmap``,
``attention-graph``, ``follow-latest``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import statistics
import threading
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

from dash import Dash, Input, Output, State, ctx, dash_table, dcc, html, no_update

from dashboard import figures
from dashboard.store import Store

REFRESH_MS = 1000
TABLE_ROWS = 200
COOKIE_NAME = "tickscope_dashboard"
STATUS_PATH = "/_tickscope/status"


# ---- security -----------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """True only for hosts that cannot be reached from another machine."""
    h = host.strip().strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False  # a name could resolve to anything: treat it as exposed


def _cookie_value(token: str) -> str:
    """What the cookie holds: a MAC of the token, never the token itself."""
    return hmac.new(token.encode("utf-8"), b"tickscope-dashboard-cookie-v1", hashlib.sha256).hexdigest()


def install_token_gate(server, token: str) -> None:
    """Require ``token`` on every request: ``?token=`` once (then a cookie) or HTTP basic password."""
    from flask import Response, redirect, request

    if not token:
        raise ValueError("an empty dashboard token would let everyone in")
    token_b = token.encode("utf-8")
    cookie = _cookie_value(token)

    @server.before_request
    def _gate():
        if hmac.compare_digest(request.cookies.get(COOKIE_NAME, "").encode("utf-8"), cookie.encode("utf-8")):
            return None
        given = request.args.get("token")
        if given is not None and hmac.compare_digest(given.encode("utf-8"), token_b):
            rest = request.args.to_dict(flat=False)
            rest.pop("token", None)
            target = request.path + ("?" + urlencode(rest, doseq=True) if rest else "")
            resp = redirect(target, code=303)  # drop the token from the address bar and history
            resp.set_cookie(COOKIE_NAME, cookie, httponly=True, samesite="Lax", secure=request.is_secure,
                            path="/")
            return resp
        auth = request.authorization
        if auth is not None and auth.type == "basic" and auth.password is not None \
                and hmac.compare_digest(auth.password.encode("utf-8"), token_b):
            return None
        return Response(
            "tickscope dashboard: a token is required. Open the page once with ?token=<TICKSCOPE_DASHBOARD_TOKEN> "
            "or use HTTP basic auth with the token as the password.\n",
            status=401, mimetype="text/plain",
            headers={"WWW-Authenticate": 'Basic realm="tickscope dashboard", charset="UTF-8"'},
        )


# ---- timing -------------------------------------------------------------------------


class Timings:
    """Recent server-side durations of each callback, in milliseconds."""

    def __init__(self, keep: int = 500):
        self._lock = threading.Lock()
        self._d: dict[str, deque] = {}
        self._keep = keep

    def add(self, name: str, ms: float) -> None:
        with self._lock:
            self._d.setdefault(name, deque(maxlen=self._keep)).append(ms)

    def summary(self) -> dict:
        with self._lock:
            out = {}
            for name, d in self._d.items():
                v = sorted(d)
                out[name] = {"n": len(v), "median_ms": round(statistics.median(v), 2),
                             "p95_ms": round(v[min(len(v) - 1, int(0.95 * len(v)))], 2), "max_ms": round(v[-1], 2)}
            return out


# ---- layout -------------------------------------------------------------------------


def _graph(id_: str, height: int, fig, modebar: bool = True) -> dcc.Graph:
    return dcc.Graph(id=id_, figure=fig, style={"height": f"{height}px"},
                     config={"displaylogo": False, "responsive": True, "displayModeBar": "hover" if modebar else False})


def build_layout(title: str) -> html.Div:
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
    explanation = html.Div(id="explanation-panel", className="panel", children=[
        html.Div(className="panel-head", children=[
            html.H3("Explanation", style={"margin": "0 12px 0 0"}),
            html.Code(id="selected-signal-id", children=""),
            html.Span(id="selection-mode", className="muted", children=""),
            html.Button("follow newest", id="follow-latest", n_clicks=0, className="btn"),
        ]),
        html.Div(id="explanation-summary", className="summary"),
        html.Div(className="grid3", children=[
            _graph("feature-bar", 320, figures.empty_figure("no signal yet"), modebar=False),
            _graph("shap-heatmap", 320, figures.empty_figure("no signal yet"), modebar=False),
            _graph("attention-graph", 320, figures.empty_figure("no signal yet"), modebar=False),
        ]),
    ])
    return html.Div(className="page", children=[
        html.Div(className="topbar", children=[
            html.H2(title, style={"margin": 0}),
            html.Div(className="topbar-right", children=[
                html.Span("symbol", className="muted"),
                dcc.Dropdown(id="symbol-dropdown", options=[], value=None, clearable=False,
                             placeholder="waiting for ticks…", style={"width": "180px"}),
                html.Span(id="signal-count", className="badge", children="0 signals"),
                html.Span(id="feed-status", className="muted", children="starting"),
            ]),
        ]),
        html.Div(className="panel",
                 children=[_graph("price-graph", 380, figures.empty_figure("waiting for ticks…"))]),
        html.Div(className="panel", children=[html.H3("Recent signals", style={"margin": "0 0 8px 0"}), table]),
        explanation,
        dcc.Interval(id="refresh", interval=REFRESH_MS, n_intervals=0),
        dcc.Store(id="selected-signal", data=None),
        dcc.Store(id="view-key", data=None),
        dcc.Store(id="price-view", data=None),
        dcc.Store(id="rendered-signal", data=None),
    ])


# ---- callbacks ----------------------------------------------------------------------


def _feed_text(store: Store) -> str:
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


def refresh_view(store: Store, symbol: str | None, selected: str | None, view_key, zoom: dict | None = None):
    """Everything the 1 s tick updates; returns the tuple of callback outputs.

    The price figure and the table are rebuilt only when the store or the
    selection changed since the last call (``view_key``).
    """
    symbols = store.symbols()
    options = [{"label": s, "value": s} for s in symbols]
    if symbol not in symbols:  # default: the symbol of the newest signal, else the first one
        newest = store.signals(limit=1)
        symbol = newest[0].symbol if newest else (symbols[0] if symbols else None)
    n = store.n_records()
    count = f"{n} signal{'' if n == 1 else 's'}"
    key = [symbol, store.version, selected, zoom]
    if key == view_key:
        return options, symbol, no_update, no_update, no_update, count, _feed_text(store), no_update
    ts, prices = store.prices(symbol) if symbol else ([], [])
    sym_signals = store.signals(symbol) if symbol else []
    fig = figures.price_figure(ts, prices, sym_signals, symbol, selected_id=selected, uirevision=symbol, view=zoom)
    rows = [
        {"id": r.signal_id, "time": figures.utc_text(r.ts), "symbol": r.symbol, "direction": r.direction,
         "score": round(r.score, 6), "threshold": round(r.threshold, 6), "signal_id": r.signal_id}
        for r in store.signals(limit=TABLE_ROWS)
    ]
    style = [
        {"if": {"filter_query": '{direction} = "long"', "column_id": "direction"}, "color": figures.LONG_COLOR,
         "fontWeight": "600"},
        {"if": {"filter_query": '{direction} = "short"', "column_id": "direction"}, "color": figures.SHORT_COLOR,
         "fontWeight": "600"},
    ]
    if selected:
        style.append({"if": {"filter_query": '{signal_id} = "%s"' % selected}, "backgroundColor": "#fff3cd"})
    return options, symbol, fig, rows, style, count, _feed_text(store), key


def explanation_view(store: Store, selected: str | None, symbol: str | None, rendered):
    """Outputs of the explanation panel: the selected signal, else the newest one."""
    rec = store.record(selected)
    mode = "selected"
    if rec is None:
        mode = "newest"
        sid = store.newest_signal_id(symbol) or store.newest_signal_id()
        rec = store.record(sid)
    if rec is None:
        if rendered is None and selected is None:
            return no_update, no_update, no_update, no_update, no_update, no_update, no_update
        msg = "no signal yet"
        e = figures.empty_figure(msg)
        return "", msg, [], e, e, e, None
    if rendered == [rec["signal_id"], mode]:
        return (no_update,) * 7
    summary = [html.Div(className="kv", children=[html.Span(k, className="k"), html.Span(v, className="v")])
               for k, v in figures.summary_items(rec)]
    return (rec["signal_id"], f"({mode})", summary, figures.feature_bar(rec), figures.shap_heatmap(rec),
            figures.attention_figure(rec), [rec["signal_id"], mode])


def _click_ts(x) -> int | None:
    """Epoch ms of a clicked point's x: plotly reports date axes as 'YYYY-MM-DD HH:MM[:SS[.fff]]' (UTC)."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, str):
        try:
            dt = datetime.fromisoformat(x.strip().replace(" ", "T"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return int(round(dt.timestamp() * 1000))
    return None


def signal_from_click(store: Store, click: dict, symbol: str | None) -> str | None:
    """The signal a click on the price graph means.

    A marker carries its signal_id in customdata. A signal's marker sits exactly on the
    price line, so plotly may report the line's point instead: then the signal of the
    shown symbol at that same timestamp is meant.
    """
    for p in click.get("points", []):
        cd = p.get("customdata")
        sid = cd[0] if isinstance(cd, list) and cd else None
        if isinstance(sid, str) and store.record(sid) is not None:
            return sid
    for p in click.get("points", []):
        ts = _click_ts(p.get("x"))
        if ts is None or symbol is None:
            continue
        for row in store.signals(symbol):
            if row.ts == ts:
                return row.signal_id
    return None


def create_app(store: Store, *, token: str | None = None, title: str = "tickscope · live desk") -> Dash:
    """The Dash app over ``store``; with ``token`` every request must carry it."""
    app = Dash(
        __name__, title=title, update_title=None, assets_folder=str(Path(__file__).parent / "assets"),
        enable_mcp=False, serve_locally=True,
    )
    if token:
        install_token_gate(app.server, token)
    app.layout = build_layout(title)
    timings = Timings()
    app.tickscope_timings = timings  # type: ignore[attr-defined]

    @app.server.route(STATUS_PATH)
    def _status():
        st, counters = store.snapshot_status()
        return {"feed": {"state": st.state, "detail": st.detail, "partitions": st.partitions},
                "counters": counters, "symbols": store.symbols(), "records": store.n_records(),
                "callbacks": timings.summary()}

    @app.callback(
        Output("symbol-dropdown", "options"), Output("symbol-dropdown", "value"),
        Output("price-graph", "figure"), Output("signals-table", "data"),
        Output("signals-table", "style_data_conditional"),
        Output("signal-count", "children"), Output("feed-status", "children"), Output("view-key", "data"),
        Input("refresh", "n_intervals"), Input("symbol-dropdown", "value"), Input("selected-signal", "data"),
        Input("price-view", "data"), State("view-key", "data"),
    )
    def _refresh(_n, symbol, selected, zoom, view_key):
        t0 = time.perf_counter()
        try:
            return refresh_view(store, symbol, selected, view_key, zoom)
        finally:
            timings.add("refresh", (time.perf_counter() - t0) * 1000)

    @app.callback(
        Output("price-view", "data"),
        Input("price-graph", "relayoutData"), State("price-view", "data"), State("symbol-dropdown", "value"),
        prevent_initial_call=True,
    )
    def _zoom(relayout, view, symbol):
        # The zoom is kept server-side and written into every rebuilt figure: uirevision alone
        # does not survive dcc.Graph re-rendering with plotly.js 4 (the GUI edit is forgotten).
        new = figures.view_from_relayout(view, relayout, symbol)
        return no_update if new == view else new

    @app.callback(
        Output("selected-signal", "data"), Output("signals-table", "active_cell"),
        Output("signals-table", "selected_cells"),
        Input("price-graph", "clickData"), Input("signals-table", "active_cell"), Input("follow-latest", "n_clicks"),
        State("symbol-dropdown", "value"),
        prevent_initial_call=True,
    )
    def _select(click, cell, _follow, symbol):
        trig = ctx.triggered_id
        if trig == "follow-latest":
            return None, None, []
        if trig == "price-graph" and click:
            sid = signal_from_click(store, click, symbol)
            return (sid, no_update, no_update) if sid else (no_update, no_update, no_update)
        if trig == "signals-table" and cell and cell.get("row_id"):
            return cell["row_id"], None, []  # clear the cell cursor; the row highlight shows the selection
        return no_update, no_update, no_update

    @app.callback(
        Output("selected-signal-id", "children"), Output("selection-mode", "children"),
        Output("explanation-summary", "children"), Output("feature-bar", "figure"),
        Output("shap-heatmap", "figure"), Output("attention-graph", "figure"), Output("rendered-signal", "data"),
        Input("refresh", "n_intervals"), Input("selected-signal", "data"), Input("symbol-dropdown", "value"),
        State("rendered-signal", "data"),
    )
    def _explain(_n, selected, symbol, rendered):
        t0 = time.perf_counter()
        try:
            return explanation_view(store, selected, symbol, rendered)
        finally:
            timings.add("explain", (time.perf_counter() - t0) * 1000)

    return app
