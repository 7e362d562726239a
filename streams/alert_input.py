"""What the alert stage accepts from ``explanations``: an archive record its detectors can observe, or why not.

``read_explanation`` is the alert stage's decode-and-check, run inside
``tickscope.contracts.dead_letters.isolate``: it raises ``Rejected`` (or
anything else) for a message the stage must dead-letter, returns ``Skipped``
for a valid message that is not this stage's to observe (another model
version, or a key written before ``explanations`` was keyed by symbol), and
otherwise the ``ArchiveRecord``. It changes nothing.

Beyond the schema (``ArchiveRecord``) it checks what the detectors rely on, so
that ``AlertEngine.observe`` cannot raise on a record that passed: the shapes
the model version's reference was calibrated on (F features with the same
names, G segments, a [T][F] window), every number finite and at most
``MAX_ABS`` in size, the quality numbers the detectors read, a symbol of the
``ticks`` charset (so no symbol can be mistaken for the internal ``'*'`` keys)
and a key equal to the symbol (one symbol's records in one partition, in the
order its signals were produced).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from numbers import Real

import numpy as np
from pydantic import ValidationError

from tickscope.contracts.dead_letters import Rejected
from tickscope.contracts.records import ARCHIVE_SCHEMA_VERSION, ArchiveRecord
from tickscope.features.window import WINDOW_T
from tickscope.streams.ingest import SYMBOL_RE

MAX_ABS = 1e12  # larger than any score, feature value or attribution the pipeline makes, far below overflow
MAX_TS_MS = 2**53  # epoch ms that JSON readers in every language hold exactly
SIGNAL_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
FAITHFULNESS_K_INDEX = 0  # the entry of quality.faithfulness the faithfulness detector reads


@dataclass(frozen=True)
class Skipped:
    """A valid message the stage does not observe; ``reason`` is a stable label for a metric."""

    reason: str  # "model_version" or "legacy_key"
    detail: str


@dataclass(frozen=True)
class Expected:
    """The shapes a model version's reference was calibrated on (``tickscope.detectors.reference``)."""

    feature_names: tuple[str, ...]
    segments: int
    steps: int

    @classmethod
    def from_reference(cls, reference: dict, steps: int = WINDOW_T) -> "Expected":
        return cls(tuple(reference["feature_names"]), len(reference["segment_shares"]), steps)


def read_explanation(raw: bytes | None, key: bytes | None, expected: Expected,
                     model_version: str | None) -> ArchiveRecord | Skipped:
    """The record of one message of ``explanations``, ``Skipped``, or ``Rejected`` with a reason label."""
    record = _parse(raw)
    if record.schema_version > ARCHIVE_SCHEMA_VERSION:
        raise Rejected("schema_version", f"schema_version {record.schema_version} is newer than this worker "
                                         f"({ARCHIVE_SCHEMA_VERSION})")
    _check_ids(record)
    if key != record.symbol.encode("utf-8"):
        if key == record.signal_id.encode("utf-8"):
            return Skipped("legacy_key", "keyed by signal_id: written before explanations were keyed by symbol")
        raise Rejected("key_mismatch", f"key {None if key is None else key[:40]!r} is not the symbol "
                                       f"{record.symbol!r}")
    if model_version is not None and record.model_version != model_version:
        return Skipped("model_version", f"model {record.model_version[:12]!r}, this worker's is {model_version[:12]}")
    _check_shapes(record, expected)
    _check_numbers(record)
    return record


def _parse(raw: bytes | None) -> ArchiveRecord:
    if not raw:
        raise Rejected("empty", "message has no value")
    try:
        return ArchiveRecord.from_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "value"
        raise Rejected("invalid", f"{exc.error_count()} error(s); {where}: {first['msg']}"[:400]) from None


def _check_ids(record: ArchiveRecord) -> None:
    if not SYMBOL_RE.fullmatch(record.symbol):
        raise Rejected("bad_symbol", f"symbol must match {SYMBOL_RE.pattern}, got {record.symbol[:40]!r}")
    if not SIGNAL_ID_RE.fullmatch(record.signal_id):
        raise Rejected("bad_signal_id", f"signal_id must match {SIGNAL_ID_RE.pattern}, "
                                        f"got {record.signal_id[:40]!r}")
    if not 0 <= record.ts < MAX_TS_MS:
        raise Rejected("bad_ts", f"ts must be epoch ms in [0, 2**53), got {str(record.ts)[:40]}")


def _check_shapes(record: ArchiveRecord, expected: Expected) -> None:
    t, f, g = expected.steps, len(expected.feature_names), expected.segments
    if tuple(record.feature_names) != expected.feature_names:
        raise Rejected("bad_shape", f"feature_names {ascii(record.feature_names)[:120]} are not the reference's")
    for name in ("window", "attributions"):
        rows = getattr(record, name)
        if len(rows) != t or any(len(row) != f for row in rows):
            raise Rejected("bad_shape", f"{name} must be [{t}][{f}]")
    for name, n in (("feature_attributions", f), ("event_attributions", g), ("segments", g), ("attention", t)):
        if name == "attention" and record.attention is None:  # a model without attention
            continue
        if len(getattr(record, name)) != n:
            raise Rejected("bad_shape", f"{name} must have {n} entries, has {len(getattr(record, name))}")


def _check_numbers(record: ArchiveRecord) -> None:
    arrays = {name: getattr(record, name) for name in ("window", "attributions", "feature_attributions",
                                                       "event_attributions", "attention")
              if getattr(record, name) is not None}
    scalars = {name: getattr(record, name) for name in ("price", "score", "threshold", "base_value",
                                                        "additivity_error")}
    if record.attention_shap_spearman is not None:
        scalars["attention_shap_spearman"] = record.attention_shap_spearman
    scalars.update(_quality_numbers(record.quality))
    for name, values in arrays.items():
        a = np.asarray(values, dtype=np.float64)
        if not (np.isfinite(a).all() and (np.abs(a) <= MAX_ABS).all()):
            raise Rejected("not_finite", f"{name} holds a number that is not finite or beyond {MAX_ABS:g}")
    for name, value in scalars.items():
        if not _bounded(value):
            raise Rejected("not_finite", f"{name} is not a finite number within {MAX_ABS:g}")


def _quality_numbers(quality: dict) -> dict:
    """The quality numbers the detectors read: ``stability`` and ``faithfulness[0]`` (each optional)."""
    out = {}
    stability = quality.get("stability")
    if stability is not None:
        out["quality.stability"] = stability
    faithfulness = quality.get("faithfulness")
    if faithfulness is not None and faithfulness != []:
        if not isinstance(faithfulness, list):
            raise Rejected("bad_quality", "quality.faithfulness must be a list")
        if faithfulness[FAITHFULNESS_K_INDEX] is not None:
            out["quality.faithfulness[0]"] = faithfulness[FAITHFULNESS_K_INDEX]
    return out


def _bounded(value) -> bool:
    """A real number (not a bool), finite and at most MAX_ABS in size; a huge int is out of bounds, not an error."""
    if not isinstance(value, Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value)) and abs(float(value)) <= MAX_ABS
    except OverflowError:
        return False
