"""The live desk dashboard: Dash on its FastAPI backend, served by uvicorn; push by default, poll on request.

Views live in ``tickscope.dashboard.views`` (desk, signal, alerts, drift, archive;
``selection`` owns which signal is explained). Element ids are stable (the e2e
tests rely on them): ``view-tabs``, ``symbol-dropdown``, ``price-graph``,
``cap-note``, ``signals-table``, ``signal-count``, ``feed-status``,
``push-state``, ``explanation-panel``, ``selected-signal-id``, ``selection-mode``,
``explanation-summary``, ``waterfall-graph``, ``feature-bar``, ``shap-heatmap``,
``attention-graph``, ``quality-table``, ``follow-latest``, ``alerts-active``,
``alerts-past``, ``drift-graph``, ``archive-results``.

Two ways the page learns news (``mode``):

- ``push`` (default): every callback runs over Dash's WebSocket
  (``websocket_callbacks``), and ``tickscope.dashboard.push`` streams each page's
  deltas from the one topic reader. The page makes no HTTP request after it loads.
- ``poll`` (``tickscope dashboard --poll``): no socket; a ``dcc.Interval`` feeds a
  client-side gate that only issues poll ``n + 1`` once the server acknowledged
  poll ``n`` (or after ``POLL_TIMEOUT_MS``, if a response was lost), so a slow
  callback never queues requests behind it (dash issue #1613).

The token gate (``tickscope.dashboard.gate``) wraps the whole ASGI app: every
route, the report route and the WebSocket upgrade. ``tickscope.dashboard.traffic``
counts what went out; ``STATUS_PATH`` reports it with the feed's state.
"""

from __future__ import annotations

import statistics
import threading
import uuid
from collections import deque
from pathlib import Path

from dash import Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from tickscope.dashboard import push
from tickscope.dashboard.archive_reader import ArchiveReader
from tickscope.dashboard.gate import COOKIE_NAME, TokenGate, cookie_value, is_loopback  # noqa: F401 - re-exported
from tickscope.dashboard.live_store import Store
from tickscope.dashboard.traffic import TrafficCounter
from tickscope.dashboard.views import alerts_view, archive_view, desk_view, drift_view, selection, signal_view

REFRESH_MS = 250
POLL_TIMEOUT_MS = 10_000
STALE_AFTER_S = 15  # push mode: no push for this long (the stream beats every 5 s) -> the page says "stale"
STATUS_PATH = "/_tickscope/status"
METRICS_PATH = "/metrics"
MODES = ("push", "poll")


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

_SEEN_JS = "function(beat) { return beat ? Date.now() : window.dash_clientside.no_update; }"
_STALE_JS = """function(n, seen) {
    if (!seen) { return 'push: connecting…'; }
    const age = (Date.now() - seen) / 1000;
    return age > %d ? 'push: stale, no update for ' + Math.round(age) + ' s' : 'push: live';
}""" % STALE_AFTER_S


def _mode_parts(mode: str, refresh_ms: int) -> list:
    if mode == "poll":
        return [dcc.Interval(id="refresh", interval=refresh_ms, n_intervals=0),
                dcc.Store(id="poll-req", data=None), dcc.Store(id="poll-ack", data=None)]
    return [dcc.Store(id="page-id", data=uuid.uuid4().hex), dcc.Store(id="live", data=None),
            dcc.Store(id="push-beat", data=None), dcc.Store(id="push-seen", data=None),
            dcc.Interval(id="stale-check", interval=2000, n_intervals=0)]  # client-side only: no request


def build_layout(title: str, archive_where: str, mode: str = "push", refresh_ms: int = REFRESH_MS) -> html.Div:
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
                html.Span(id="push-state", className="muted", children="poll" if mode == "poll" else ""),
                html.Span(id="feed-status", className="muted", children="starting"),
            ]),
        ]),
        tabs,
        html.Div(id="view-desk", children=[desk_view.layout(), signal_view.layout()]),
        html.Div(id="view-alerts", style={"display": "none"}, children=[alerts_view.layout()]),
        html.Div(id="view-drift", style={"display": "none"}, children=[drift_view.layout()]),
        html.Div(id="view-archive", style={"display": "none"}, children=[archive_view.layout(archive_where)]),
        *_mode_parts(mode, refresh_ms),
        dcc.Store(id="selected-signal", data=None), dcc.Store(id="rendered-signal", data=None),
        dcc.Store(id="alerts-key", data=None), dcc.Store(id="drift-key", data=None),
        dcc.Store(id="scroll-to", data=0), dcc.Store(id="scroll-anchor", data=None),
    ])


# ---- the app ------------------------------------------------------------------------


def create_app(store: Store, *, token: str | None = None, title: str = "tickscope · live desk",
               archive_reader=None, mode: str = "push", refresh_ms: int = REFRESH_MS, render: str = "svg",
               browser_points: int | None = None, push_config: push.PushConfig | None = None) -> Dash:
    """The Dash app over ``store``; with ``token`` every request and the WebSocket must carry it.

    ``render``: how the price line is drawn, "svg" (default) or "webgl" (see ``figures.price_figure``).
    ``browser_points``: price points of the shown symbol kept in the browser (default: the store's cap).
    """
    if render not in ("svg", "webgl"):
        raise ValueError(f"render must be svg or webgl, got {render!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be push or poll, got {mode!r}")
    line_type = "scattergl" if render == "webgl" else "scatter"
    app = Dash(
        __name__, title=title, update_title=None, assets_folder=str(Path(__file__).parent / "assets"),
        enable_mcp=False, serve_locally=True, suppress_callback_exceptions=True, backend="fastapi",
        websocket_callbacks=mode == "push",
        websocket_inactivity_timeout=0,  # else the socket closes after 5 quiet minutes and is not reopened
        websocket_batch_delay=0.005,
    )
    if mode == "poll":
        app.backend.websocket_capability = False  # no socket config in the page: the SharedWorker never starts
    reader = archive_reader if archive_reader is not None else ArchiveReader()
    where = reader.describe()
    app.layout = lambda: build_layout(title, where, mode, refresh_ms)  # a function: each page its own page-id
    timings, pages = Timings(), push.Pages()
    traffic = TrafficCounter.Totals()
    app.tickscope_timings, app.tickscope_traffic, app.tickscope_pages = timings, traffic, pages  # type: ignore

    _routes(app, store, reader, timings, traffic, pages, mode=mode, refresh_ms=refresh_ms, render=render,
            browser_points=browser_points)
    app.clientside_callback(_SHOW_JS, Output("view-desk", "style"), Output("view-alerts", "style"),
                            Output("view-drift", "style"), Output("view-archive", "style"),
                            Input("view-tabs", "value"))
    trigger = "poll-ack" if mode == "poll" else "live"
    if mode == "poll":
        app.clientside_callback(_GATE_JS, Output("poll-req", "data"), Input("refresh", "n_intervals"),
                                State("poll-req", "data"), State("poll-ack", "data"))
        desk_view.register(app, store, timings, line_type=line_type, browser_points=browser_points)
        alerts_view.register(app, store, timings)
    else:
        desk_view.register_zoom(app)
        cfg = push_config or push.PushConfig(browser_points=browser_points, line_type=line_type)
        _register_push(app, store, pages, cfg)
    signal_view.register(app, store, timings, archive=reader, report_path=archive_view.REPORT_PATH, trigger=trigger)
    selection.register(app, store)
    drift_view.register(app, store, timings, trigger=trigger)
    archive_view.register(app, reader, timings)

    app.server.add_middleware(TrafficCounter, totals=traffic)  # the last added is the outermost
    if token:
        app.server.add_middleware(TokenGate, token=token)
    return app


def _register_push(app, store, pages: push.Pages, cfg: push.PushConfig) -> None:
    @app.callback(State("page-id", "data"), persistent=True, prevent_initial_call=False)
    async def _stream(page_id):
        ws = ctx.websocket
        if ws is None or not isinstance(page_id, str):
            raise PreventUpdate
        await push.PageStream(ws, store, pages, page_id[:64], cfg).run()
        raise PreventUpdate

    @app.callback(Input("symbol-dropdown", "value"), Input("selected-signal", "data"),
                  State("price-view", "data"), State("page-id", "data"), prevent_initial_call=True)
    async def _intent(symbol, selected, view, page_id):
        if isinstance(page_id, str):
            pages.set_intent(page_id[:64], symbol, selected, view,
                             selection_changed=ctx.triggered_id == "selected-signal")
        raise PreventUpdate

    app.clientside_callback(_SEEN_JS, Output("push-seen", "data"), Input("push-beat", "data"))
    app.clientside_callback(_STALE_JS, Output("push-state", "children"), Input("stale-check", "n_intervals"),
                            State("push-seen", "data"))


def _routes(app, store, reader, timings, traffic, pages, **shown) -> None:
    """Routes beside Dash's: status, metrics, the report. Registered before the server starts, so they win
    over the catch-all Dash adds at startup."""
    from fastapi.responses import JSONResponse, Response
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    @app.server.get(STATUS_PATH)
    def _status():
        st, counters = store.snapshot_status()
        dead = [{"reason": d.reason, "topic": d.source_topic, "partition": d.source_partition,
                 "offset": d.source_offset, "detail": d.detail[:200]} for d in list(store.dead_letters)]
        return JSONResponse({
            "feed": {"state": st.state, "detail": st.detail, "partitions": st.partitions},
            "counters": counters, "symbols": store.symbols(), "records": store.n_records(),
            "alerts": store.n_alerts(), "callbacks": timings.summary(), "traffic": traffic.snapshot(),
            "pages_streaming": pages.count(), "store_subscribers": store.n_subscribers(),
            "push_acks": pages.ack_summary(),
            "recent_rejections": dead, **shown})

    @app.server.get(METRICS_PATH)
    def _metrics():
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    archive_view.register_routes(app.server, reader)


def serve(app: Dash, host: str, port: int) -> None:
    """Run ``app`` under uvicorn in this thread until SIGINT/SIGTERM (raises OSError if the port is taken)."""
    import uvicorn

    config = uvicorn.Config(app.server, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3,
                            ws_ping_interval=20, lifespan="on")
    server = uvicorn.Server(config)
    server.run()
    if getattr(server, "started", True) is False:
        raise OSError(f"could not serve on {host}:{port}")
