"""Decode and check one message of ``ticks``, ``explanations`` or ``alerts`` for the dashboard's store.

Pure functions of the bytes: each returns the record as the store keeps it, or
raises ``Rejected`` with a stable reason. They are called inside
``tickscope.contracts.dead_letters.isolate``, so anything else they raise (a
RecursionError on deep nesting, an OverflowError on a huge number) is a
rejection too, never a stopped reader.

Beyond the schema (pydantic), a record must be drawable: the views index
arrays by each other's lengths, format every number and send every string to
a browser as JSON. So a record is refused when its arrays disagree in shape
([T][F] window and attributions, [F] feature attributions, [G] segments and
event attributions, [T] attention), a number is not finite, a time is not a
plausible epoch millisecond, a string cannot be encoded as UTF-8 (a lone
surrogate), or its ``schema_version`` is newer than this code knows.
"""

from __future__ import annotations

import json
import math

from pydantic import ValidationError

from tickscope.contracts.dead_letters import Rejected
from tickscope.contracts.records import ALERT_SCHEMA_VERSION, ARCHIVE_SCHEMA_VERSION, Alert, ArchiveRecord
from tickscope.contracts.times import now_ms
from tickscope.streams.ingest import MIN_TS_MS, SYMBOL_RE, validate

STAGE_ID = "dashboard"
MAX_RECORD_BYTES = 1_048_576  # Kafka's default message limit: a record larger than this is not one we wrote
MAX_SAFE_INT = 2**53 - 1  # the largest integer a browser's JSON numbers hold exactly
MAX_FUTURE_MS = 86_400_000  # an event time at most one day ahead of the wall clock
ALERT_SYMBOLS = "*"  # an alert may concern all symbols


def decode_tick(raw: bytes | None, key: bytes | None, max_bytes: int):
    """The worker's own tick check (``streams.ingest.validate``), then the symbol matched whole."""
    tick = validate(raw, key, max_bytes)
    if not SYMBOL_RE.fullmatch(tick.symbol):  # the pattern's "$" also matches before a trailing newline
        raise Rejected("bad_symbol", f"symbol {tick.symbol[:40]!r} has a trailing newline")
    return tick


def _json_object(raw: bytes | None) -> bytes:
    if raw is None:
        raise Rejected("empty", "message has no value")
    if len(raw) > MAX_RECORD_BYTES:
        raise Rejected("too_large", f"{len(raw)} bytes > limit {MAX_RECORD_BYTES}")
    return raw


def _finite(name: str, values) -> None:
    for v in values:
        if not math.isfinite(v):
            raise Rejected("not_finite", f"{name} holds a non-finite number")


def _epoch(name: str, value: int, *, event: bool) -> None:
    low = MIN_TS_MS if event else 0
    high = now_ms() + MAX_FUTURE_MS if event else MAX_SAFE_INT
    if not low <= value <= high:
        raise Rejected("implausible_time", f"{name} {str(value)[:24]} is not a plausible epoch millisecond")


def _encodable(obj: dict) -> None:
    """Every string valid UTF-8 and every number finite, anywhere (quality, detail, params)."""
    try:
        json.dumps(obj, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Rejected("bad_text", f"a string is not valid UTF-8: {exc.reason}") from exc
    except ValueError as exc:
        raise Rejected("not_finite", f"a number is not finite: {exc}") from exc


def _symbol(symbol: str, *, allow_all: bool = False) -> None:
    if allow_all and symbol == ALERT_SYMBOLS:
        return
    if not SYMBOL_RE.fullmatch(symbol):
        raise Rejected("bad_symbol", f"symbol must match {SYMBOL_RE.pattern} whole, got {symbol[:40]!r}")


def _shapes(rec: dict) -> None:
    f = len(rec["feature_names"])
    t = len(rec["attributions"])
    if f == 0 or t == 0:
        raise Rejected("bad_shape", "a record needs at least one feature and one time step")
    if len(rec["window"]) != t or any(len(row) != f for row in rec["window"]) \
            or any(len(row) != f for row in rec["attributions"]):
        raise Rejected("bad_shape", f"window and attributions must both be [{t}][{f}]")
    if len(rec["feature_attributions"]) != f:
        raise Rejected("bad_shape", f"feature_attributions must have {f} values")
    if len(rec["segments"]) != len(rec["event_attributions"]):
        raise Rejected("bad_shape", "segments and event_attributions differ in length")
    for seg in rec["segments"]:
        if len(seg) != 2 or not 0 <= seg[0] < seg[1] <= t:
            raise Rejected("bad_shape", f"segment {str(seg)[:40]} is not [start, stop) within {t} steps")
    attention = rec.get("attention")
    if attention is not None and len(attention) != t:
        raise Rejected("bad_shape", f"attention must have {t} values or be null")


def decode_record(raw: bytes | None, key: bytes | None = None) -> dict:
    """One ``explanations`` message -> the archive record as a dict (``ArchiveRecord.model_dump()``)."""
    try:
        rec = ArchiveRecord.from_json(_json_object(raw)).model_dump()
    except ValidationError as exc:
        raise Rejected("invalid_record", " ".join(str(exc).split())[:200]) from exc
    if not 1 <= rec["schema_version"] <= ARCHIVE_SCHEMA_VERSION:
        raise Rejected("unknown_schema_version", f"schema_version {str(rec['schema_version'])[:24]} is not "
                                                 f"1..{ARCHIVE_SCHEMA_VERSION}")
    _symbol(rec["symbol"])
    _epoch("ts", rec["ts"], event=True)
    for name in ("scored_at", "produced_at"):
        _epoch(name, rec[name], event=False)
    _shapes(rec)
    _finite("numbers", [rec["price"], rec["score"], rec["threshold"], rec["base_value"], rec["additivity_error"]])
    for name in ("window", "attributions"):
        _finite(name, (v for row in rec[name] for v in row))
    for name in ("feature_attributions", "event_attributions"):
        _finite(name, rec[name])
    _encodable(rec)  # also: attention, spearman and quality finite; every string UTF-8
    return rec


def decode_alert(raw: bytes | None, key: bytes | None = None) -> dict:
    """One ``alerts`` message -> the alert as a dict (``Alert.model_dump()``)."""
    try:
        alert = Alert.from_json(_json_object(raw)).model_dump()
    except ValidationError as exc:
        raise Rejected("invalid_alert", " ".join(str(exc).split())[:200]) from exc
    if not 1 <= alert["schema_version"] <= ALERT_SCHEMA_VERSION:
        raise Rejected("unknown_schema_version", f"schema_version {str(alert['schema_version'])[:24]} is not "
                                                 f"1..{ALERT_SCHEMA_VERSION}")
    _symbol(alert["symbol"], allow_all=True)
    for name in ("started_at", "raised_at"):
        _epoch(name, alert[name], event=False)
    _finite("value and threshold", [alert["value"], alert["threshold"]])
    _encodable(alert)
    return alert
