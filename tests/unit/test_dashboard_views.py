"""Alerts, drift and archive views of the dashboard: pure functions over the store / a real archive file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from dash import no_update

from dashboard import synthetic
from dashboard.store import Store
from dashboard.views import alerts, archive, drift, select
from streams.records import signal_id_for

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


def _records(n, drift_to=0.0, symbol="EURUSD"):
    out = []
    for i in range(n):
        raw = synthetic.record_json(symbol, NOW + i * 1000, 1.1, NOW, drift=drift_to * i / max(n - 1, 1))
        out.append(json.loads(raw))
    return out


def test_drift_shares_rolling_mean_and_first_signals_reference(tmp_path):
    recs = _records(120, drift_to=1.0)
    d = drift.drift_data(recs, 20, cards_dir=tmp_path)
    a = np.abs(np.asarray([r["feature_attributions"] for r in recs]))
    share = a / a.sum(axis=1, keepdims=True)
    assert d["rolling"].shape == (101, 6)
    np.testing.assert_allclose(d["rolling"][-1], share[-20:].mean(axis=0))
    np.testing.assert_allclose(d["reference"], share[:20].mean(axis=0))
    assert "first 20 signals" in d["ref_label"] and d["ts"][0] == recs[19]["ts"]
    assert d["current"][3] > d["reference"][3]  # the synthetic drift moved mass to feature 3


def test_drift_reads_a_reference_file(tmp_path):
    recs = _records(30)
    names = recs[0]["feature_names"]
    ref = {"feature_share": {n: float(i + 1) for i, n in enumerate(names)}}
    (tmp_path / f"{synthetic.MODEL_VERSION}.reference.json").write_text(json.dumps(ref))
    d = drift.drift_data(recs, 10, cards_dir=tmp_path)
    assert d["reference"] == pytest.approx([(i + 1) / 21 for i in range(6)])
    assert "reference.json" in d["ref_label"]
    assert drift.load_reference("nope", names, tmp_path) is None


def test_drift_update_only_when_visible_and_throttled():
    s = Store()
    for r in _records(40):
        s.add_record(r)
    opts, fig, bars, note, key = drift.drift_update(s, "*", 20, False, None, now_ms=NOW)
    assert fig is no_update and {"label": "EURUSD", "value": "EURUSD"} in opts
    opts, fig, bars, note, key = drift.drift_update(s, "*", 20, True, key, now_ms=NOW)
    assert fig is not no_update and "40 signals" in note
    assert drift.drift_update(s, "*", 20, True, key, now_ms=NOW + 10)[1] is no_update
    assert drift.drift_update(s, "EURUSD", 20, True, key, now_ms=NOW + 10)[1] is not no_update


def test_url_and_time_parsing():
    assert select.from_url("?signal=" + "a" * 32) == ("a" * 32, None)
    assert select.from_url("?view=alerts") == (None, "alerts")
    assert select.from_url("?view=nope") == (None, None)
    assert archive.parse_time("1700000000000") == 1_700_000_000_000
    assert archive.parse_time("2023-11-14T22:13:20") == 1_700_000_000_000
    assert archive.parse_time(" ") is None
    with pytest.raises(ValueError):
        archive.parse_time("yesterday")


@pytest.fixture
def archive_file(tmp_path):
    import audit.store as store_mod
    from audit.heads import Signer

    path = tmp_path / "archive.sqlite"
    st = store_mod.open_store(path, read_only=False)
    items, ids = [], []
    for i in range(30):
        sym = "EURUSD" if i % 3 else "GOOG"
        raw = synthetic.record_json(sym, NOW + i * 60_000, 1.1, NOW)
        ids.append(json.loads(raw)["signal_id"])
        items.append(store_mod.Incoming(raw, ids[-1].encode(), f"explanations/0@{i}"))
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signer = Signer(Ed25519PrivateKey.generate())
    st.append_batch(items, {("explanations", 0): 30}, signer, NOW)
    st.close()
    return path, ids


def test_archive_reader_search_newest_first_and_record(archive_file):
    from dashboard.archive import ArchiveReader

    path, ids = archive_file
    r = ArchiveReader(path)
    res = r.search(symbol="GOOG")
    assert res.ok and [row["symbol"] for row in res.rows] == ["GOOG"] * 10
    assert [row["ts"] for row in res.rows] == sorted((row["ts"] for row in res.rows), reverse=True)
    assert r.search(signal_id=ids[4]).rows[0]["signal_id"] == ids[4]
    res = r.search(ts_from=NOW + 10 * 60_000, ts_to=NOW + 12 * 60_000)
    assert len(res.rows) == 3
    assert r.search(limit=5).truncated
    assert r.record(ids[7])["signal_id"] == ids[7] and r.record("0" * 32) is None
    status, children = archive.archive_search(r, "EURUSD", None, None, None)
    assert "20 record(s)" in status and children


def test_archive_reader_without_archive(tmp_path):
    from dashboard.archive import ArchiveReader

    r = ArchiveReader(tmp_path / "missing.sqlite")
    res = r.search()
    assert not res.ok and "no archive" in res.message
    assert r.record("a" * 32) is None
    status, body = r.report_html("a" * 32, replay=False)
    assert status == 503


def test_report_route_serves_the_audit_report(archive_file):
    import audit.report  # noqa: F401
    from dashboard.app import create_app
    from dashboard.archive import ArchiveReader

    path, ids = archive_file
    app = create_app(Store(), archive_reader=ArchiveReader(path))
    c = app.server.test_client()
    r = c.get(f"{archive.REPORT_PATH}/{ids[3]}?replay=0")
    assert r.status_code == 200 and ids[3] in r.get_data(as_text=True)
    assert "Inclusion proof" in r.get_data(as_text=True)
    assert c.get(f"{archive.REPORT_PATH}/{'0' * 32}?replay=0").status_code == 404
    assert c.get(f"{archive.REPORT_PATH}/not-an-id").status_code == 400
