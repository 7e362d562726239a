"""Synthetic but schema-valid wire records for the dashboard's bench and tests.

Every record goes through the real pydantic models (``ArchiveRecord``, ``Alert``,
``Tick``) before it is serialised, so what the dashboard receives is exactly
what the worker and the detectors publish, only with made-up numbers: the cell
attributions sum to ``score - base_value`` (additivity error ~1e-16), the
feature and event levels too, attention sums to 1, and ``quality`` has the
shape the explain stage writes.
"""

from __future__ import annotations

import hashlib

import numpy as np

from tickscope.contracts.ids import seed_for, signal_id_for
from tickscope.contracts.records import Alert, ArchiveRecord, Tick

T, F, G = 32, 6, 8
FEATURES = ["ret_z", "mom_8", "mom_32", "vol_ratio", "range_8", "size_z"]
MODEL_VERSION = hashlib.sha256(b"tickscope-dashboard-bench").hexdigest()


def tick_json(symbol: str, ts: int, price: float) -> bytes:
    return Tick(symbol=symbol, ts=int(ts), price=float(price)).to_json()


def record_json(symbol: str, ts: int, price: float, produced_at: int, model_version: str = MODEL_VERSION,
                drift: float = 0.0) -> bytes:
    """One explained signal; ``drift`` in [0, 1] moves attribution mass from feature 0 to feature 3."""
    sid = signal_id_for(symbol, ts, model_version)
    rng = np.random.default_rng(seed_for(sid))
    score = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.5))
    base = float(rng.normal(0, 0.05))
    weights = np.array([3.0 * (1 - drift) + 0.2, 1.0, 0.8, 0.2 + 3.0 * drift, 0.6, 0.3]) * rng.uniform(0.7, 1.3, F)
    feat = weights / weights.sum() * (score - base) * np.where(rng.random(F) < 0.15, -0.3, 1.0)
    feat += ((score - base) - feat.sum()) / F  # exact: sums to score - base
    cells = np.outer(np.linspace(0.2, 1.8, T) / T, feat) + rng.normal(0, 0.002, (T, F))
    cells += ((score - base) - cells.sum()) / (T * F)
    seg = T // G
    events = [float(cells[g * seg:(g + 1) * seg].sum()) for g in range(G)]
    att = np.exp(np.linspace(-2, 0, T) + rng.normal(0, 0.2, T))
    att /= att.sum()
    rec = ArchiveRecord(
        signal_id=sid, symbol=symbol, ts=int(ts), price=float(price), model_version=model_version, score=score,
        threshold=0.5, direction="long" if score > 0 else "short", feature_names=FEATURES,
        window=rng.normal(size=(T, F)).round(6).tolist(), attributions=cells.tolist(), event_attributions=events,
        segments=[[g * seg, (g + 1) * seg] for g in range(G)], feature_attributions=feat.tolist(), base_value=base,
        attention=att.tolist(), attention_shap_spearman=float(rng.uniform(0.2, 0.9)),
        additivity_error=abs(base + float(cells.sum()) - score),
        explainer={"method": "synthetic", "params": {"segments": G}, "seed": seed_for(sid)},
        scored_at=produced_at - 5, produced_at=produced_at,
        quality={"additivity": {"cells": abs(base + float(cells.sum()) - score),
                                "events": abs(base + sum(events) - score),
                                "features": abs(base + float(feat.sum()) - score)},
                 "stability": float(rng.uniform(0.1, 2.0)), "stability_eps": 0.01, "stability_perturbations": 4,
                 "deletion_k": [8, 32], "deletion_scale": abs(score - base),
                 "deletion_top": [0.4, 0.8], "deletion_random": [0.05, 0.2], "faithfulness": [0.35, 0.6]},
    )
    return rec.to_json()


def alert_json(alert_id: str, kind: str, symbol: str, evidence: list[str], started_at: int, raised_at: int,
               severity: str = "warning", value: float = 0.31, threshold: float = 0.2,
               detail: dict | None = None) -> bytes:
    return Alert(alert_id=alert_id, kind=kind, symbol=symbol, started_at=started_at, raised_at=raised_at,
                 severity=severity, metric="jensen_shannon_feature_share", value=value, threshold=threshold,
                 evidence=evidence, detail=detail or {"window": len(evidence)},
                 model_version=MODEL_VERSION).to_json()
