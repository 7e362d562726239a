"""The byte form that integrity hashes are computed over, and plain-JSON conversion.

``canonical_json`` is what the archive hashes into its Merkle log: sorted
keys, no spaces, UTF-8. ``json_safe`` turns numpy values and non-finite
floats into what strict JSON can carry (JSON has no NaN: they become null).
"""

from __future__ import annotations

import json

import numpy as np


def canonical_json(obj: dict) -> bytes:
    """Sorted keys, no spaces: the byte form hashed for integrity."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_safe(value):
    """Plain JSON types, recursively: numpy scalars and arrays become Python ones, NaN and infinities None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value
