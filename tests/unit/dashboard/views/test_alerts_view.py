"""The alerts view: validated, de-duplicated alerts; active ones; evidence buttons."""

from __future__ import annotations

import json

import pytest
from dash import no_update

from bench import synthetic
from tickscope.contracts.ids import signal_id_for
from tickscope.dashboard.live_store import Store
from tickscope.dashboard.views import alerts_view as alerts

NOW = 1_795_000_000_000


def _alert(aid, kind="attribution_drift", symbol="EURUSD", raised=NOW, **kw) -> bytes:
    return synthetic.alert_json(aid, kind, symbol, kw.pop("evidence", ["a" * 32, "b" * 32]), raised - 60_000,
                                raised, **kw)


def test_alerts_are_validated_and_deduplicated_by_alert_id():
    s = Store()
    assert s.add_alert_raw(_alert("x1"))
    assert not s.add_alert_raw(_alert("x1", value=0.9))  # re-delivered: the first copy wins
    assert not s.add_alert_raw(b'{"alert_id": "bad"}') and not s.add_alert_raw(None)
    assert s.n_alerts() == 1 and s.alerts()[0]["value"] == pytest.approx(0.31)
    c = s.snapshot_status()[1]
    assert c["alerts_duplicate"] == 1 and c["alerts_rejected"] == 2


def test_active_is_the_newest_recent_unresolved_alert_per_kind_and_symbol():
    s = Store()
    s.add_alert_raw(_alert("old", raised=NOW - 120_000))
    s.add_alert_raw(_alert("new", raised=NOW - 60_000, severity="critical"))
    s.add_alert_raw(_alert("stale", kind="rank_change", raised=NOW - (alerts.ACTIVE_S + 5) * 1000))
    s.add_alert_raw(_alert("done", kind="instability", raised=NOW, detail={"resolved": True}))
    s.add_alert_raw(_alert("all", kind="segment_drift", symbol="*", raised=NOW, severity="info"))
    active, past = alerts.split_alerts(s.alerts(), NOW)
    assert [a["alert_id"] for a in active] == ["new", "all"]  # critical first
    assert {a["alert_id"] for a in past} == {"old", "stale", "done"}


def test_alert_cards_carry_evidence_buttons():
    s = Store()
    ev = [signal_id_for("EURUSD", NOW + i, synthetic.MODEL_VERSION) for i in range(alerts.MAX_EVIDENCE_BUTTONS + 3)]
    s.add_alert_raw(_alert("x1", evidence=ev))
    summary, active, past, key = alerts.alerts_update(s, None, now_ms=NOW)
    assert "1 alert(s)" in summary and "1 active" in summary
    text = json.dumps(active[0].to_plotly_json(), default=lambda o: o.to_plotly_json())
    assert f'"sid": "{ev[0]}"' in text and "+3 more" in text
    assert alerts.alerts_update(s, key, now_ms=NOW)[0] is no_update


