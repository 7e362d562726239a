"""Alerts view: active and past alerts from the ``alerts`` topic, each with its evidence.

Alerts are de-duplicated by ``alert_id`` in the store. The ``Alert`` record has
no "resolved" event, so the dashboard decides what is active:

- an alert is *active* when it is the newest alert of its (kind, symbol), was
  raised within the last ``ACTIVE_S`` seconds (wall clock ``raised_at``; if 0,
  ``started_at``), and its ``detail`` does not say it is over (``resolved:
  true`` or ``state`` in resolved/cleared/ok);
- every other alert is *past*.

Each evidence signal_id is a button that opens that signal in the explanation
panel (from the live store, else from the archive).

Push: ``alerts_delta`` gives the page only what changed (the past list as a
Patch: new cards on top, the oldest beyond ``MAX_PAST`` off the end). Poll:
``register`` re-renders the lists when an alert arrives or every 15 s.
"""

from __future__ import annotations

import json
import time

from dash import Input, Output, State, html, no_update

from tickscope.dashboard import deltas, figures

ACTIVE_S = 900
RESPLIT_MS = 15_000  # active alerts age into past: re-split this often even without a new alert
MAX_EVIDENCE_BUTTONS = 40
MAX_PAST = 200
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def layout() -> html.Div:
    return html.Div(className="panel", children=[
        html.Div(className="panel-head", children=[
            html.H3("Alerts", style={"margin": 0}),
            html.Span(id="alerts-summary", className="muted", children="no alerts received"),
        ]),
        html.P(f"Active: the newest alert of its kind and symbol, raised in the last {ACTIVE_S // 60} min and not "
               "marked resolved. Click an evidence signal to open its explanation.", className="muted"),
        html.H4("Active", style={"margin": "8px 0 4px 0"}),
        html.Div(id="alerts-active"),
        html.H4("Past", style={"margin": "14px 0 4px 0"}),
        html.Div(id="alerts-past"),
    ])


def _raised(a: dict) -> int:
    return int(a.get("raised_at") or a.get("started_at") or 0)


def _resolved(a: dict) -> bool:
    d = a.get("detail") or {}
    return bool(d.get("resolved")) or str(d.get("state", "")).lower() in {"resolved", "cleared", "ok"}


def split_alerts(alerts: list[dict], now_ms: int, active_s: int = ACTIVE_S) -> tuple[list[dict], list[dict]]:
    """(active, past); active sorted by severity then newest, past newest first."""
    newest: dict = {}
    for a in alerts:
        k = (a["kind"], a["symbol"])
        if k not in newest or _raised(a) > _raised(newest[k]):
            newest[k] = a
    active, past = [], []
    for a in alerts:
        is_active = (newest[(a["kind"], a["symbol"])] is a and now_ms - _raised(a) <= active_s * 1000
                     and not _resolved(a))
        (active if is_active else past).append(a)
    active.sort(key=lambda a: (SEVERITY_ORDER.get(a["severity"], 9), -_raised(a)))
    past.sort(key=lambda a: -_raised(a))
    return active, past


def _evidence(a: dict) -> html.Div:
    ids = list(a.get("evidence") or [])
    src = a["alert_id"][:24]
    buttons = [html.Button(sid[:12], id={"type": "open-signal", "sid": sid, "src": src}, n_clicks=0,
                           className="chip", title=f"open signal {sid}") for sid in ids[:MAX_EVIDENCE_BUTTONS]]
    more = [html.Span(f" +{len(ids) - MAX_EVIDENCE_BUTTONS} more", className="muted")] \
        if len(ids) > MAX_EVIDENCE_BUTTONS else []
    return html.Div(className="evidence", children=[html.Span(f"evidence ({len(ids)}): ", className="muted")]
                    + buttons + more)


def alert_card(a: dict) -> html.Div:
    raised = _raised(a)
    detail = json.dumps(a.get("detail") or {}, sort_keys=True)
    if len(detail) > 400:
        detail = detail[:400] + "…"
    return html.Div(className=f"alert alert-{a['severity']}", id={"type": "alert-card", "aid": a["alert_id"]},
                    children=[
        html.Div(className="alert-head", children=[
            html.Span(a["severity"], className=f"sev sev-{a['severity']}"),
            html.B(a["kind"]), html.Span(f"symbol {a['symbol']}"),
            html.Span(f"{a['metric']} = {a['value']:.4g} (threshold {a['threshold']:.4g})", className="mono"),
            html.Span(f"started {figures.utc_text(a['started_at'])} · raised "
                      f"{figures.utc_text(raised) if raised else 'n/a'} UTC", className="muted"),
        ]),
        html.Div(className="muted mono", children=f"alert {a['alert_id']} · model "
                 f"{(a.get('model_version') or 'n/a')[:12]} · detail {detail}"),
        _evidence(a),
    ])


def _summary(alerts: list, active: list, past: list) -> str:
    if not alerts:
        return "no alerts received"
    older = f" · {len(past) - MAX_PAST} older past alerts not shown" if len(past) > MAX_PAST else ""
    return f"{len(alerts)} alert(s) received · {len(active)} active{older}"


def _none() -> list:
    return [html.P("none", className="muted")]


def alerts_update(store, key, now_ms: int | None = None) -> tuple:
    """Poll: (summary, active children, past children, key), ``no_update`` when nothing changed."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    new_key = [store.alerts_version, now_ms // RESPLIT_MS]
    if key == new_key:
        return no_update, no_update, no_update, no_update
    alerts = store.alerts()
    active, past = split_alerts(alerts, now_ms)
    act = [alert_card(a) for a in active] or _none()
    old = [alert_card(a) for a in past[:MAX_PAST]] or _none()
    return _summary(alerts, active, past), act, old, new_key


def alerts_delta(store, shown: dict | None, now_ms: int | None = None) -> tuple[dict, dict]:
    """Push: ({prop: value} to send, what the page shows now); the past list goes as a Patch when it can.

    ``shown`` is the previous return's second value (None on a fresh page).
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    shown = shown or {}
    key = [store.alerts_version, now_ms // RESPLIT_MS]
    if shown.get("key") == key:
        return {}, shown
    alerts = store.alerts()
    active, past = split_alerts(alerts, now_ms)
    out = {"summary": _summary(alerts, active, past)}
    active_ids = [a["alert_id"] for a in active]
    if active_ids != shown.get("active"):
        out["active"] = [alert_card(a) for a in active] or _none()
    past_cards = [alert_card(a) for a in past[:MAX_PAST]]
    value, past_ids = deltas.list_patch(shown.get("past"), past_cards, key=lambda c: c.id["aid"])
    if value is not None:
        out["past"] = value if past_cards or not isinstance(value, list) else _none()
    return out, {"key": key, "active": active_ids, "past": past_ids}


def register(app, store, timings) -> None:
    """Poll mode only: re-rendered after each poll (push mode sends ``alerts_delta`` from the page stream)."""
    @app.callback(
        Output("alerts-summary", "children"), Output("alerts-active", "children"), Output("alerts-past", "children"),
        Output("alerts-key", "data"),
        Input("poll-ack", "data"), State("alerts-key", "data"),
    )
    def _alerts(_ack, key):
        t0 = time.perf_counter()
        try:
            return alerts_update(store, key)
        finally:
            timings.add("alerts", (time.perf_counter() - t0) * 1000)
