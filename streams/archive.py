"""Stage ``archive``: an explained Signal -> the ArchiveRecord published on ``explanations``.

The record carries everything needed to re-create the explanation from the
archive alone: the exact window, the model version (sha256 of the artifact,
which also fixes the baseline), the explainer method, parameters and seed,
and the explanation's quality numbers (``streams.quality``).
"""

from __future__ import annotations

import hashlib

import numpy as np

from streams.explain import METHOD, ExplainConfig, Explanation, additivity_error, explain
from streams.records import ArchiveRecord, Explainer, Signal, seed_for

STAGE_ID = "archive"


def baseline_sha256(baseline: np.ndarray) -> str:
    """Hash of the float32 baseline window bytes: identifies the explanation's reference."""
    return hashlib.sha256(np.ascontiguousarray(baseline, dtype=np.float32).tobytes()).hexdigest()


def archive_record(signal: Signal, expl: Explanation, config: ExplainConfig, seed: int,
                   baseline_hash: str, produced_at: int) -> ArchiveRecord:
    return ArchiveRecord(
        signal_id=signal.signal_id,
        symbol=signal.symbol,
        ts=signal.ts,
        price=signal.price,
        model_version=signal.model_version,
        score=signal.score,
        threshold=signal.threshold,
        direction=signal.direction,
        feature_names=signal.feature_names,
        window=signal.window,
        attributions=expl.cells.tolist(),
        event_attributions=expl.events.tolist(),
        segments=[list(s) for s in expl.segments],
        feature_attributions=expl.features.tolist(),
        base_value=expl.base_value,
        attention=expl.attention.tolist(),
        attention_shap_spearman=expl.attention_shap_spearman,
        additivity_error=additivity_error(expl.base_value, expl.cells, signal.score),
        explainer=Explainer(method=METHOD, params=config.params(baseline_hash), seed=seed),
        scored_at=signal.scored_at,
        produced_at=produced_at,
        quality=_json_safe(expl.quality),
    )


def _json_safe(value):
    """Plain JSON types; non-finite floats become None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def explain_signal(signal: Signal, net, baseline: np.ndarray, baseline_hash: str, config: ExplainConfig,
                   produced_at: int) -> ArchiveRecord:
    """Signal -> explained ArchiveRecord: the worker's explain stage and every replay call this."""
    seed = seed_for(signal.signal_id)
    expl = explain(net, signal.window, baseline, seed, config)
    return archive_record(signal, expl, config, seed, baseline_hash, produced_at)
