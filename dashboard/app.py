"""The live desk dashboard: page shell, the poll gate, the token gate and the status route.

Views live in ``tickscope.dashboard.views`` (desk, signal, alerts, drift, archive; ``selection``
owns which signal is explained). Element ids are stable (the e2e tests rely on
them): ``view-tabs``, ``symbol-dropdown``, ``price-graph``, ``signals-table``,
``signal-count``, ``feed-status``, ``explanation-panel``, ``selected-signal-id``,
``selection-mode``, ``explanation-summary``, ``waterfall-graph``, ``feature-bar``,
``shap-heatmap``, ``attention-graph``, ``quality-table``, ``follow-latest``,
``alerts-active``, ``alerts-past``, ``drift-graph``, ``archive-results``.

Live updates are polled every ``REFRESH_MS`` (the Flask backend of Dash 4.4 has no
WebSocket callbacks; those need the FastAPI or Quart backend). Overlapping polls
(dash issue #1613: a callback slower than its interval queues requests behind
it, and each new one makes the previous result outdated) cannot happen: the
interval feeds a client-side gate that only issues poll ``n + 1`` once the
server acknowledged poll ``n`` (or after ``POLL_TIMEOUT_MS``, if a response was
lost). Each view's callback returns ``no_update`` for whatever did not change,
and the price chart is extended in place (``extendData``), not re-sent.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import statistics
import threading
from collections import deque
from pathlib import Path
from urllib.parse import urlencode

from dash import Dash, Input, Output, State, dcc, html

from tickscope.dashboard.archive_reader import ArchiveReader
from tickscope.dashboard.live_store import Store
from tickscope.dashboard.views import (
    alerts_view,
    archive_view,
    desk_view,
    drift_view,
    selection,
    signal_view,
)

REFRESH_MS = 250
POLL_TIMEOUT_MS = 10_000
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

_GATE_JS = """function(n, req, ack) {
    const now = Date.now();
    if (req && req.n !== ack && now - req.t < %d) { return window.dash_clientside.no_update; }
    return {n: (req ? req.n : 0) + 1, t: now};
}""" % POLL_TIMEOUT_MS

_SHOW_JS = """function(tab) {
    const views = ['desk', 'alerts', 'drift', 'archive'];
    return views.map(v => ({display: v === tab ? 'block' : 'none'}));
}"""


def build_layout(title: str, archive_where: str, refresh_ms: int = REFRESH_MS) -> html.Div:
    tabs = dcc.Tabs(id="view-tabs", value="desk", className="tabs", children=[
        dcc.Tab(label="Desk", value="desk"), dcc.Tab(label="Alerts", value="alerts"),
        dcc.Tab(label="Drift", value="drift"), dcc.Tab(label="Archive", value="archive"),
    ])
    return html.Div(className="page", children=[
        dcc.Location(id="url", refresh=False),
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
        tabs,
        html.Div(id="view-desk", children=[desk_view.layout(), signal_view.layout()]),
        html.Div(id="view-alerts", style={"display": "none"}, children=[alerts_view.layout()]),
        html.Div(id="view-drift", style={"display": "none"}, children=[drift_view.layout()]),
        html.Div(id="view-archive", style={"display": "none"}, children=[archive_view.layout(archive_where)]),
        dcc.Interval(id="refresh", interval=refresh_ms, n_intervals=0),
        dcc.Store(id="poll-req", data=None), dcc.Store(id="poll-ack", data=None),
        dcc.Store(id="selected-signal", data=None), dcc.Store(id="rendered-signal", data=None),
        dcc.Store(id="alerts-key", data=None), dcc.Store(id="drift-key", data=None),
        dcc.Store(id="scroll-to", data=0), dcc.Store(id="scroll-anchor", data=None),
    ])


def create_app(store: Store, *, token: str | None = None, title: str = "tickscope · live desk",
               archive_reader=None, refresh_ms: int = REFRESH_MS, render: str = "svg") -> Dash:
    """The Dash app over ``store``; with ``token`` every request must carry it.

    ``render``: how the price line is drawn, "svg" (default) or "webgl" (see ``figures.price_figure``).
    """
    if render not in ("svg", "webgl"):
        raise ValueError(f"render must be svg or webgl, got {render!r}")

    app = Dash(
        __name__, title=title, update_title=None, assets_folder=str(Path(__file__).parent / "assets"),
        enable_mcp=False, serve_locally=True, suppress_callback_exceptions=True,
    )
    if token:
        install_token_gate(app.server, token)
    reader = archive_reader if archive_reader is not None else ArchiveReader()
    app.layout = build_layout(title, reader.describe(), refresh_ms)
    timings = Timings()
    app.tickscope_timings = timings  # type: ignore[attr-defined]

    @app.server.route(STATUS_PATH)
    def _status():
        st, counters = store.snapshot_status()
        return {"feed": {"state": st.state, "detail": st.detail, "partitions": st.partitions},
                "counters": counters, "symbols": store.symbols(), "records": store.n_records(),
                "alerts": store.n_alerts(), "refresh_ms": refresh_ms, "render": render, "callbacks": timings.summary()}

    app.clientside_callback(_GATE_JS, Output("poll-req", "data"), Input("refresh", "n_intervals"),
                            State("poll-req", "data"), State("poll-ack", "data"))
    app.clientside_callback(_SHOW_JS, Output("view-desk", "style"), Output("view-alerts", "style"),
                            Output("view-drift", "style"), Output("view-archive", "style"),
                            Input("view-tabs", "value"))
    desk_view.register(app, store, timings, line_type="scattergl" if render == "webgl" else "scatter")
    signal_view.register(app, store, timings, archive=reader, report_path=archive_view.REPORT_PATH)
    selection.register(app, store)
    alerts_view.register(app, store, timings)
    drift_view.register(app, store, timings)
    archive_view.register(app, reader, timings)
    return app
