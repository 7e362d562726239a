"""Archive browser: search the durable archive by symbol, time range or signal id (read-only).

Results come from ``tickscope.dashboard.archive_reader.ArchiveReader`` (the archive
store, opened read-only per search). Each row has a button that opens the
signal in the explanation panel and a link to its replay report, served by
``REPORT_PATH/<signal_id>`` (``tickscope.audit.report.render_report`` over the
replayed record; ``?replay=0`` skips the replay), served with ``REPORT_CSP`` on
every answer, errors included.
"""

from __future__ import annotations

import html as html_text
import re
import time

from dash import Input, Output, dcc, html, no_update

from tickscope.audit.report import REPORT_CSP  # no script, only the report's own stylesheet, never framed
from tickscope.contracts.times import parse_time_ms
from tickscope.dashboard import figures

REPORT_PATH = "/_tickscope/report"
_SID = re.compile(r"[0-9a-f]{32}")


def layout(where: str) -> html.Div:
    def field(label, id_, placeholder, width="200px"):
        return html.Label(className="field", children=[
            html.Span(label, className="muted"),
            dcc.Input(id=id_, type="text", placeholder=placeholder, debounce=True, style={"width": width}),
        ])

    return html.Div(className="panel", children=[
        html.Div(className="panel-head", children=[
            html.H3("Archive", style={"margin": 0}),
            html.Span(f"read-only: {where}", id="archive-where", className="muted"),
        ]),
        html.Div(className="panel-head", children=[
            field("symbol", "archive-symbol", "e.g. EURUSD", "140px"),
            field("from (UTC)", "archive-from", "2024-01-02T00:00 or epoch ms"),
            field("to (UTC)", "archive-to", "inclusive"),
            field("signal id", "archive-signal-id", "32 hex digits", "290px"),
            html.Button("search", id="archive-search", n_clicks=0, className="btn"),
        ]),
        html.P(id="archive-status", className="muted", children="search the archive (newest first)"),
        html.Div(id="archive-results"),
    ])


parse_time = parse_time_ms  # epoch ms or ISO-8601 (no offset = UTC); None if empty


def results_table(rows: list[dict]) -> html.Table:
    head = html.Tr([html.Th(h) for h in ("seq", "time (UTC)", "symbol", "direction", "score", "signal", "report")])
    body = []
    for r in rows:
        sid = r["signal_id"]
        score = r.get("score")
        body.append(html.Tr(className="arch-row", children=[
            html.Td(r["seq"]), html.Td(figures.utc_text(r["ts"])), html.Td(r["symbol"]),
            html.Td(r.get("direction") or "", className=f"dir-{r.get('direction')}"),
            html.Td(f"{score:.6f}" if isinstance(score, (int, float)) else "n/a"),
            html.Td(html.Button(sid, id={"type": "open-signal", "sid": sid, "src": "archive"}, n_clicks=0,
                                className="chip mono", title="open in the explanation panel")),
            html.Td(html.A("replay report", href=f"{REPORT_PATH}/{sid}", target="_blank", className="report-link")),
        ]))
    return html.Table(className="arch-table", children=[html.Thead(head), html.Tbody(body)])


def archive_search(reader, symbol, ts_from, ts_to, signal_id) -> tuple:
    """(status text, results children)."""
    try:
        t1, t2 = parse_time(ts_from), parse_time(ts_to)
    except ValueError as exc:
        return str(exc), []
    sid = (signal_id or "").strip().lower() or None
    if sid is not None and not _SID.fullmatch(sid):
        return f"signal id {signal_id!r} is not 32 hex digits", []
    sym = (symbol or "").strip() or None
    res = reader.search(symbol=sym, ts_from=t1, ts_to=t2, signal_id=sid)
    if not res.ok:
        return res.message, []
    if not res.rows:
        return f"no archived record matches · {res.message}", []
    return res.message, [results_table(res.rows)]


def register(app, reader, timings) -> None:
    @app.callback(
        Output("archive-status", "children"), Output("archive-results", "children"),
        Input("archive-search", "n_clicks"), Input("archive-symbol", "value"), Input("archive-from", "value"),
        Input("archive-to", "value"), Input("archive-signal-id", "value"), Input("view-tabs", "value"),
        prevent_initial_call=True,
    )
    def _search(_n, symbol, ts_from, ts_to, signal_id, tab):
        if tab != "archive":
            return no_update, no_update
        t0 = time.perf_counter()
        try:
            return archive_search(reader, symbol, ts_from, ts_to, signal_id)
        finally:
            timings.add("archive", (time.perf_counter() - t0) * 1000)



def report_response(reader, signal_id: str, replay: bool) -> tuple[int, str, str]:
    """(status, media type, body) of the report route; never raises, every field of a page escaped."""
    if not _SID.fullmatch(signal_id):
        return 400, "text/plain; charset=utf-8", "not a signal id\n"
    try:
        status, body = reader.report_html(signal_id, replay=replay)
    except Exception as exc:  # noqa: BLE001 - the route answers, with its CSP, whatever the archive holds
        return 500, "text/html; charset=utf-8", (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Report failed</title></head><body>"
            f"<h1>Report failed</h1><p>{html_text.escape(type(exc).__name__)}</p></body></html>")
    return status, "text/html; charset=utf-8", body


def register_routes(server, reader) -> None:
    """``REPORT_PATH/<signal_id>`` on the FastAPI server: the audit report, with ``REPORT_CSP`` on every answer."""
    from fastapi.responses import Response

    @server.get(REPORT_PATH + "/{signal_id}")
    def _report(signal_id: str, replay: str = "1"):  # sync: FastAPI runs it in a thread (replay takes seconds)
        status, media, body = report_response(reader, signal_id, replay != "0")
        return Response(body, status_code=status, media_type=media,
                        headers={"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"})
