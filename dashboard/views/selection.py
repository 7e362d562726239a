"""Which signal the explanation panel shows: one callback owns ``selected-signal``.

Sources: a click on a marker of the price chart, a click on a row of the
signals table, "follow newest" (clears the selection), an evidence or archive
button (``{"type": "open-signal", "sid": ...}``: also switches to the desk tab
and scrolls to the panel), and a deep link ``?signal=<id>`` (``#`` tabs too:
``?view=alerts``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs

from dash import ALL, Input, Output, State, ctx, no_update

VIEWS = ("desk", "alerts", "drift", "archive")


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


def signal_from_click(store, click: dict, symbol: str | None) -> str | None:
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


def from_url(search: str | None) -> tuple[str | None, str | None]:
    """(signal_id, view) of a ``?signal=...&view=...`` query."""
    q = parse_qs((search or "").lstrip("?"))
    sid = (q.get("signal") or [None])[0]
    view = (q.get("view") or [None])[0]
    return (sid if sid and len(sid) <= 64 else None), (view if view in VIEWS else None)


def register(app, store) -> None:
    @app.callback(
        Output("selected-signal", "data"), Output("signals-table", "active_cell"),
        Output("signals-table", "selected_cells"), Output("view-tabs", "value"), Output("scroll-to", "data"),
        Input("price-graph", "clickData"), Input("signals-table", "active_cell"), Input("follow-latest", "n_clicks"),
        Input({"type": "open-signal", "sid": ALL, "src": ALL}, "n_clicks"), Input("url", "search"),
        State("symbol-dropdown", "value"), State("scroll-to", "data"),
    )
    def _select(click, cell, _follow, _opens, search, symbol, scroll):
        nu = no_update
        trig = ctx.triggered_id
        if trig is None or trig == "url":  # page load or a deep link
            sid, view = from_url(search)
            if sid:
                return sid, nu, nu, "desk", (scroll or 0) + 1
            return nu, nu, nu, (view or nu), nu
        if trig == "follow-latest":
            return None, None, [], nu, nu
        if trig == "price-graph" and click:
            sid = signal_from_click(store, click, symbol)
            return (sid, nu, nu, nu, nu) if sid else (nu,) * 5
        if trig == "signals-table" and cell and cell.get("row_id"):
            return cell["row_id"], None, [], nu, nu  # clear the cell cursor; the row highlight shows the selection
        if isinstance(trig, dict) and trig.get("type") == "open-signal":
            if not ctx.triggered or not ctx.triggered[0].get("value"):
                return (nu,) * 5  # buttons (re)rendered, not clicked
            return trig["sid"], None, [], "desk", (scroll or 0) + 1
        return (nu,) * 5

    app.clientside_callback(
        """function(n) {
            if (n) { setTimeout(function() {
                const el = document.getElementById('explanation-panel');
                if (el) el.scrollIntoView({behavior: 'instant', block: 'start'}); }, 50); }
            return window.dash_clientside.no_update;
        }""",
        Output("scroll-anchor", "data"), Input("scroll-to", "data"), prevent_initial_call=True,
    )
