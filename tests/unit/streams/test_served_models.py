"""Nothing is wired to the LSTM: the model without attention and a desk's model with a shorter window go
through detect, explain, state restore and replay exactly as the default does."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.support.models import load as load_version
from tests.support.models import tcn_version
from tests.unit.streams.conftest import messages, run
from tickscope.audit.replay import ModelCache, replay_one
from tickscope.marketdata.sources import load_source
from tickscope.models.dataset import build_samples
from tickscope.models.spec import feature_rows
from tickscope.streams.detect import SignalDetector
from tickscope.streams.offline import explain_all

ROWS = 1500


def _desk_model(tmp_path, monkeypatch):
    """A desk's GRU on 16-step windows, registered into an empty data dir (the serving search path)."""
    from tests.support.desk_models import GRUScore
    from tickscope.models.register import register
    from tickscope.models.registry import load

    monkeypatch.setenv("TICKSCOPE_MODEL_MODULES", "tests")
    monkeypatch.setenv("TICKSCOPE_DATA_DIR", str(tmp_path / "data"))
    torch.manual_seed(0)
    weights = tmp_path / "w.safetensors"
    save_file(GRUScore(6, 8).state_dict(), str(weights))
    spec = {"architecture": {"class": "tests.support.desk_models:GRUScore", "kwargs": {"n_features": 6, "hidden": 8}},
            "window_t": 16, "output": "desk score", "threshold_low": -0.0, "threshold_high": 0.0, "attention": False,
            "cooldown": 5}
    # thresholds at the 10% / 90% quantiles of its own scores on packaged windows, as a desk would calibrate
    net = GRUScore(6, 8)
    net.load_state_dict(load_file(str(weights)))
    with torch.inference_mode():
        windows = build_samples(load_source("eurusd")[:ROWS], window_t=16).windows
        scores = net(torch.from_numpy(windows))[0].numpy()
    spec["threshold_low"], spec["threshold_high"] = (float(q) for q in np.quantile(scores, [0.1, 0.9]))
    version, _ = register(spec, weights, tmp_path / "data" / "models")
    return load(version)


@pytest.fixture(params=["tcn", "desk"])
def served(request, tmp_path, monkeypatch):
    torch.set_num_threads(1)
    return load_version(tcn_version()) if request.param == "tcn" else _desk_model(tmp_path, monkeypatch)


def test_detect_explain_and_replay_a_model_that_is_not_the_lstm(served):
    rows = load_source("eurusd")[:ROWS]
    outcomes = run(SignalDetector(served, None, 4096), messages("EURUSD", rows), 256)
    signals = [s for o in outcomes for s in o.signals]
    assert len(signals) > 5 and {s.direction for s in signals} == {"long", "short"}
    t = served.window_t
    index = {r.ts: i for i, r in enumerate(rows)}
    prices, sizes = np.array([r.price for r in rows]), np.array([np.nan if r.size is None else r.size for r in rows])
    for s in signals:  # the feature function on the whole history up to the tick: no train/serve skew
        i = index[s.ts] + 1
        expected = feature_rows(served.features, prices[:i], sizes[:i])[-t:]
        assert np.array_equal(np.array(s.window, dtype=np.float32), expected) and len(s.window) == t
    assert (np.diff([index[s.ts] for s in signals]) > served.cooldown).all()  # the spec's cooldown
    records = explain_all(signals[:4], served)
    for rec in records:
        assert rec.attention is None and rec.attention_shap_spearman is None
        assert rec.additivity_error < 1e-5 * max(1.0, abs(rec.score)) and len(rec.attributions) == t
    cache = ModelCache()
    outcomes = [replay_one(i, json.loads(r.to_json()), cache) for i, r in enumerate(records)]
    assert [o.status for o in outcomes] == ["reproduced"] * len(records), [o.details for o in outcomes]


def test_a_restored_symbol_continues_with_the_models_window(served):
    rows = load_source("eurusd")[:600]
    msgs = messages("EURUSD", rows)
    whole = [s.signal_id for o in run(SignalDetector(served, None, 4096), msgs, 100) for s in o.signals]
    first = SignalDetector(served, None, 4096)
    found = [s.signal_id for o in run(first, msgs[:300], 100) for s in o.signals]
    partition, applied, state = first.windows.state_of("EURUSD")
    assert len(state["prices"]) == served.history
    second = SignalDetector(served, None, 4096)
    second.windows.load("EURUSD", partition, applied, json.loads(json.dumps(state)))
    found += [s.signal_id for o in run(second, msgs[300:], 100) for s in o.signals]
    assert found == whole and whole
