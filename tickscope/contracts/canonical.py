"""The byte forms that integrity hashes are computed over, and plain-JSON conversion.

Two hash forms exist, and an archive keeps, per record, which one made its bytes:

- ``HASH_FORM_JCS`` (2, current): RFC 8785, the JSON Canonicalization Scheme
  (``canonical_jcs``, via the ``rfc8785`` package): sorted keys by UTF-16 code
  units, ECMAScript number formatting, UTF-8. NaN, infinities, integers beyond
  2**53 and strings that are not valid Unicode cannot be written at all.
- ``HASH_FORM_LEGACY`` (1): sorted keys, no spaces, Python's float repr
  (``canonical_json``). Archives written before RFC 8785 hold such records; they
  still verify, since a leaf hash is over the stored bytes.

``json_safe`` turns numpy values and non-finite floats into what strict JSON can
carry (JSON has no NaN: they become null).
"""

from __future__ import annotations

import json

import numpy as np

HASH_FORM_LEGACY = 1
HASH_FORM_JCS = 2
HASH_FORMS = {HASH_FORM_LEGACY: "sorted-keys JSON, Python float repr", HASH_FORM_JCS: "RFC 8785 JCS"}


def canonical_json(obj: dict) -> bytes:
    """The legacy hash form (1): sorted keys, no spaces. Kept to check archives written before RFC 8785."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_jcs(obj) -> bytes:
    """RFC 8785 canonical bytes (hash form 2). Raises ValueError for NaN, infinities, unsafe integers,
    non-string keys and strings that cannot be UTF-8 (lone surrogates)."""
    import rfc8785

    return rfc8785.dumps(obj)


def canonical_bytes(obj, form: int) -> bytes:
    """The bytes of ``obj`` in hash form ``form``."""
    if form == HASH_FORM_JCS:
        return canonical_jcs(obj)
    if form == HASH_FORM_LEGACY:
        return canonical_json(obj)
    raise ValueError(f"unknown hash form {form!r}; known: {sorted(HASH_FORMS)}")


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
