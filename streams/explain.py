"""Stage ``explain``: a Signal from ``signals`` -> the ArchiveRecord published on ``explanations``.

The record carries everything needed to re-create the explanation from the
archive alone: the exact window, the model version (sha256 of the artifact,
which also fixes the baseline), the explainer method, parameters and seed,
and the explanation's quality numbers (``tickscope.explainer.quality``).
``explain_signal`` is the one place a Signal becomes an ArchiveRecord: the
worker's explain agent and every replay call it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tickscope.contracts.canonical import json_safe
from tickscope.contracts.dead_letters import Rejected, Source, isolate
from tickscope.contracts.ids import seed_for
from tickscope.contracts.records import ArchiveRecord, DeadLetter, Explainer, Signal
from tickscope.contracts.times import now_ms
from tickscope.explainer.baseline_shapley import (
    METHOD,
    ExplainConfig,
    Explanation,
    baseline_sha256,
    explain,
)
from tickscope.explainer.quality import additivity_error
from tickscope.features.window import WINDOW_T
from tickscope.streams.ingest import SYMBOL_RE

STAGE_ID = "explain"
MAX_INPUT_ABS = 1e6  # features are volatility-scaled (|x| of a few units): beyond this a window is not market data


@dataclass(frozen=True)
class Explaining:
    """What the explain stage needs besides the signal: the model it serves and the explainer's settings."""

    model: object  # tickscope.models.registry.LoadedModel
    config: ExplainConfig
    baseline: np.ndarray
    baseline_hash: str

    @classmethod
    def for_model(cls, model, config: ExplainConfig) -> "Explaining":
        baseline = model.baseline.numpy()
        return cls(model, config, baseline, baseline_sha256(baseline))


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
        attention=None if expl.attention is None else expl.attention.tolist(),
        attention_shap_spearman=expl.attention_shap_spearman,
        additivity_error=additivity_error(expl.base_value, expl.cells, signal.score),
        explainer=Explainer(method=METHOD, params=config.params(baseline_hash), seed=seed),
        scored_at=signal.scored_at,
        produced_at=produced_at,
        quality=json_safe(expl.quality),
    )



def explain_signal(signal: Signal, net, baseline: np.ndarray, baseline_hash: str, config: ExplainConfig,
                   produced_at: int) -> ArchiveRecord:
    """Signal -> explained ArchiveRecord: the worker's explain stage and every replay call this."""
    seed = seed_for(signal.signal_id)
    expl = explain(net, signal.window, baseline, seed, config)
    return archive_record(signal, expl, config, seed, baseline_hash, produced_at)


def first_non_finite(value, path: str = "record") -> tuple[str, float] | None:
    """(path, value) of the first NaN or infinite float in a record's plain value, or None when all are finite."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, value)
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for k, v in items:
        found = first_non_finite(v, f"{path}.{k}" if isinstance(k, str) else f"{path}[{k}]")
        if found is not None:
            return found
    return None


def check_signal(signal: Signal, feature_names: list[str]) -> None:
    """Rejected unless the signal is what the model scores and what the archive can hold: a symbol of the
    ``ticks`` charset, the model's [T][F] window with its feature names, every number finite (JSON has no NaN)."""
    if not SYMBOL_RE.fullmatch(signal.symbol):
        raise Rejected("bad_symbol", f"symbol must match {SYMBOL_RE.pattern}, got {signal.symbol[:40]!r}")
    if signal.feature_names != feature_names or len(signal.window) != WINDOW_T \
            or any(len(row) != len(feature_names) for row in signal.window):
        raise Rejected("bad_window", f"window must be [{WINDOW_T}][{len(feature_names)}] over the model's features")
    window = np.asarray(signal.window, dtype=np.float64)
    if not (np.isfinite(window).all() and (np.abs(window) <= MAX_INPUT_ABS).all()):
        raise Rejected("not_finite", f"window values must be finite and within {MAX_INPUT_ABS:g}")
    if not all(np.isfinite(v) for v in (signal.price, signal.score, signal.threshold)):
        raise Rejected("not_finite", "price, score and threshold must be finite")


def explain_message(raw: bytes | None, key: bytes | None, source: Source,
                    explaining: Explaining) -> ArchiveRecord | DeadLetter:
    """One message of ``signals`` -> its archive record, or a dead letter naming why it cannot be explained.

    ``produced_at`` is stamped when the explanation is finished (wall clock, epoch ms UTC). A signal that is not
    what the model scores is refused first (``check_signal``); a record that still holds a NaN or an infinity is
    dead-lettered as ``not_finite`` too: it could not be written as JSON, nor hashed into the archive.
    """
    def explained(value: bytes | None, _key: bytes | None) -> ArchiveRecord:
        signal = Signal.from_json(value)
        if signal.model_version != explaining.model.version:
            raise Rejected("model_version_mismatch", f"signal from model {signal.model_version[:12]}, "
                                                     f"this worker serves {explaining.model.version[:12]}")
        check_signal(signal, list(explaining.model.feature_names))
        record = explain_signal(signal, explaining.model.net, explaining.baseline, explaining.baseline_hash,
                                explaining.config, produced_at=0)
        bad = first_non_finite(record.model_dump())
        if bad is not None:
            raise Rejected("not_finite", f"{bad[0]} is {bad[1]!r}: JSON has no NaN or infinity, and the archive "
                                         "hashes RFC 8785 bytes, which cannot hold one")
        return record.model_copy(update={"produced_at": now_ms()})

    return isolate(STAGE_ID, raw, key, source, explained)
