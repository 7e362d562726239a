"""The explain stage: a signal becomes a complete, JSON-safe archive record with its quality numbers."""

from __future__ import annotations

import json

import numpy as np
import torch

from tickscope.contracts.ids import seed_for
from tickscope.contracts.records import ArchiveRecord
from tickscope.explainer.baseline_shapley import (
    ExplainConfig,
    baseline_sha256,
    explain,
)
from tickscope.streams.explain import archive_record


def test_archive_record_carries_quality_numbers(model, windows):
    from tickscope.contracts.records import ArchiveRecord, Signal
    from tickscope.explainer.baseline_shapley import baseline_sha256
    from tickscope.streams.explain import archive_record

    base = model.baseline.numpy()
    w = windows[3]
    with torch.inference_mode():
        score = float(model.net(torch.from_numpy(w[None]))[0])
    sig = Signal(signal_id="s" * 32, symbol="EURUSD", ts=1, price=1.0, model_version=model.version, score=score,
                 threshold=model.threshold, direction="long", feature_names=model.feature_names, window=w.tolist(),
                 scored_at=1)
    e = explain(model.net, w, base, seed=3)
    rec = archive_record(sig, e, ExplainConfig(), 3, baseline_sha256(base), produced_at=2)
    again = ArchiveRecord.from_json(rec.to_json())
    assert again == rec
    qual = again.quality
    assert set(qual) >= {"additivity", "stability", "deletion_k", "deletion_top", "deletion_random", "faithfulness"}
    assert max(qual["additivity"].values()) < 1e-5 * max(1.0, abs(score))
    assert qual["stability"] > 0 and len(qual["faithfulness"]) == len(ExplainConfig().deletion_k)


def test_archive_record_is_json_and_complete(detector_run):
    model, _, outcomes = detector_run
    signal = next(s for o in outcomes for s in o.signals)
    base = model.baseline.numpy()
    seed = seed_for(signal.signal_id)
    expl = explain(model.net, np.array(signal.window, dtype=np.float32), base, seed)
    record = archive_record(signal, expl, ExplainConfig(), seed, baseline_sha256(base), produced_at=2)
    again = ArchiveRecord.from_json(record.to_json())
    assert again == record
    body = json.loads(record.to_json())
    assert body["explainer"]["params"]["baseline_sha256"] == baseline_sha256(base)
    assert body["additivity_error"] < 1e-5 * max(1, abs(body["score"]))


