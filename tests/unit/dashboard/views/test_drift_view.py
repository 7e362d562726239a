"""The drift view: rolling feature shares against the model version's reference."""

from __future__ import annotations

import json

import numpy as np
import pytest
from dash import no_update

from bench import synthetic
from tickscope.dashboard.live_store import Store
from tickscope.dashboard.views import drift_view as drift

NOW = 1_795_000_000_000


def _records(n, drift_to=0.0, symbol="EURUSD"):
    out = []
    for i in range(n):
        raw = synthetic.record_json(symbol, NOW + i * 1000, 1.1, NOW, drift=drift_to * i / max(n - 1, 1))
        out.append(json.loads(raw))
    return out


def test_drift_shares_rolling_mean_and_first_signals_reference(tmp_path):
    recs = _records(120, drift_to=1.0)
    d = drift.drift_data(recs, 20, lambda version: tmp_path / f"{version}.reference.json")
    a = np.abs(np.asarray([r["feature_attributions"] for r in recs]))
    share = a / a.sum(axis=1, keepdims=True)
    assert d["rolling"].shape == (101, 6)
    np.testing.assert_allclose(d["rolling"][-1], share[-20:].mean(axis=0))
    np.testing.assert_allclose(d["reference"], share[:20].mean(axis=0))
    assert "first 20 signals" in d["ref_label"] and d["ts"][0] == recs[19]["ts"]
    assert d["current"][3] > d["reference"][3]  # the synthetic drift moved mass to feature 3


def test_drift_reads_the_model_versions_alert_reference(tmp_path):
    recs = _records(30)
    names = recs[0]["feature_names"]
    ref = {"feature_names": names, "feature_shares": [float(i + 1) for i in range(len(names))]}
    path = tmp_path / f"{synthetic.MODEL_VERSION}.reference.json"
    path.write_text(json.dumps(ref))
    d = drift.drift_data(recs, 10, lambda version: tmp_path / f"{version}.reference.json")
    assert d["reference"] == pytest.approx([(i + 1) / 21 for i in range(6)])
    assert "training reference" in d["ref_label"]
    assert drift.load_reference(tmp_path / "nope.reference.json", names) is None
    assert drift.load_reference(path, list(reversed(names))) is None  # shares of other feature names do not apply


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


