"""Schema-valid synthetic archive records for the dashboard's unit tests (real ones: ``tests.support.archives``)."""

from __future__ import annotations

import json

import numpy as np

from tickscope.contracts.ids import signal_id_for
from tickscope.contracts.records import ArchiveRecord

T, F = 32, 6
NAMES = ["ret_z", "mom_8", "mom_32", "vol_ratio", "range_8", "size_z"]
BASE_TS = 1_700_000_000_000


def figure_record(ts: int = BASE_TS, direction: str = "long", symbol: str = "EURUSD", seed: int = 0) -> dict:
    """An archive record (as a dict) with one dominant cell and four segments, for the figure builders."""
    rng = np.random.default_rng(seed)
    attributions = rng.normal(0, 0.01, size=(T, F))
    attributions[-1, 0] = 0.2  # one dominant cell
    attention = rng.random(T)
    attention /= attention.sum()
    mv = "ab" * 32
    rec = ArchiveRecord(
        signal_id=signal_id_for(symbol, ts, mv), symbol=symbol, ts=ts, price=1.0842, model_version=mv,
        score=0.61 if direction == "long" else -0.61, threshold=0.5, direction=direction, feature_names=NAMES,
        window=rng.normal(size=(T, F)).tolist(), attributions=attributions.tolist(),
        event_attributions=[0.01, -0.02, 0.03, 0.25], segments=[[0, 8], [8, 16], [16, 24], [24, 32]],
        feature_attributions=[0.21, -0.03, 0.05, 0.0, 0.02, -0.01], base_value=0.35,
        attention=attention.tolist(), attention_shap_spearman=0.42, additivity_error=1.5e-7,
        explainer={"method": "kernel", "params": {"nsamples": 512}, "seed": 1234},
        scored_at=ts + 5, produced_at=ts + 50,
    )
    return rec.model_dump()


def record_bytes(ts: int, symbol: str = "EURUSD", direction: str = "long", produced_at: int | None = None) -> bytes:
    """An archive record as it arrives on ``explanations`` (two segments, no attention agreement)."""
    rng = np.random.default_rng(ts % 1000)
    att = rng.random(T)
    mv = "cd" * 32
    return ArchiveRecord(
        signal_id=signal_id_for(symbol, ts, mv), symbol=symbol, ts=ts, price=1.1, model_version=mv,
        score=0.7, threshold=0.5, direction=direction, feature_names=[f"f{i}" for i in range(F)],
        window=rng.normal(size=(T, F)).tolist(), attributions=rng.normal(size=(T, F)).tolist(),
        event_attributions=[0.1, 0.2], segments=[[0, 16], [16, 32]], feature_attributions=[0.1] * F,
        base_value=0.0, attention=(att / att.sum()).tolist(), attention_shap_spearman=None, additivity_error=0.0,
        explainer={"method": "kernel", "params": {}, "seed": 1}, scored_at=ts, produced_at=produced_at or ts,
    ).to_json()


def tick(symbol: str = "EURUSD", ts: int = BASE_TS, price: float = 1.1, size: float = 1.0) -> tuple[bytes, bytes]:
    """(value, key) of one tick message."""
    return json.dumps({"symbol": symbol, "ts": ts, "price": price, "size": size}).encode(), symbol.encode()


def filled_store(n_points: int = 3000, n_signals: int = 30):
    """A dashboard store with EURUSD prices each minute and a signal every 90 minutes."""
    from tickscope.dashboard.live_store import Store

    s = Store()
    for i in range(n_points):
        s.add_point("EURUSD", BASE_TS + i * 60_000, 1.1 + 0.001 * np.sin(i / 50))
    for i in range(n_signals):
        s.add_record_raw(record_bytes(BASE_TS + i * 90 * 60_000, direction="short" if i % 3 else "long"))
    return s
