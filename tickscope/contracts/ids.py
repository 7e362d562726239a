"""Deterministic ids: the same input always gives the same id, so a replay or a re-delivery is recognised.

All three are the first 32 hex digits of a sha256 over ``|``-joined fields.
"""

from __future__ import annotations

import hashlib


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def signal_id_for(symbol: str, ts: int, model_version: str) -> str:
    """A reprocessed tick gives the same id (32 hex chars of sha256 over symbol, ts in ms, model version)."""
    return _digest(f"{symbol}|{int(ts)}|{model_version}")[:32]


def seed_for(signal_id: str) -> int:
    """The explainer's seed, derived from the signal id so a replay draws the same random numbers."""
    return int(_digest(f"seed|{signal_id}")[:8], 16)


def alert_id_for(kind: str, metric: str, symbol: str, signal_id: str) -> str:
    """The same tripping signal always gives the same alert id, so a re-delivered explanation raises nothing new."""
    return _digest(f"{kind}|{metric}|{symbol}|{signal_id}")[:32]
