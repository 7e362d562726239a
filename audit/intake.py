"""What the archiver accepts: one message of ``explanations`` -> a record to append, or a reason it is refused.

``intake`` is the archiver's per-message decode and check, a pure function (no
database, no broker), run inside ``tickscope.contracts.dead_letters.isolate``
so that no input can stop the archiver: anything it raises becomes a rejection
with a reason. Only an ``Accepted`` is ever appended to the log.

A record is accepted only if its bytes are one JSON object with no duplicate key
(two parsers must not read two different records from one body), every number is
finite and every integer fits an IEEE double exactly (|n| < 2**53, so SQLite and
PostgreSQL can store ``ts`` and ``schema_version`` and RFC 8785 can write them),
every string is valid Unicode, it is an ``ArchiveRecord`` of a schema version this
tickscope knows, validated strictly (no string where a number belongs) with no
field the schema lacks, its arrays have the shapes the schema describes
(``window`` and ``attributions`` [T][F], ``attention`` [T] or null, ...), its
``signal_id`` is sha256(symbol|ts|model_version), its ``model_version`` is a
sha256 in hex, its symbol is one ingest accepts (the whole string), and the
message key (when present) is its symbol (the explain stage keys ``explanations``
by symbol, docs/contracts.md) or, for records published before that, its
``signal_id``.

The accepted body is the record's RFC 8785 bytes (hash form 2), so the leaf hash
does not depend on how the producer happened to format its JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from tickscope.contracts.canonical import HASH_FORM_JCS, canonical_jcs
from tickscope.contracts.dead_letters import Rejected, Source, isolate
from tickscope.contracts.ids import signal_id_for
from tickscope.contracts.records import ARCHIVE_SCHEMA_VERSION, ArchiveRecord, DeadLetter, Explainer
from tickscope.streams.ingest import SYMBOL_RE

STAGE_ID = "archiver"
MAX_RECORD_BYTES = 1_048_576  # Kafka's default max.message.bytes; a real record is ~12.5 KB
MAX_SAFE_INT = 2**53 - 1
MAX_TIME_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last time a datetime can show
MAX_DEPTH = 32  # a record is 3 levels deep; quality 2 more
KNOWN_SCHEMA_VERSIONS = frozenset(range(1, ARCHIVE_SCHEMA_VERSION + 1))
MODEL_VERSION_RE = re.compile(r"[0-9a-f]{64}")
_RECORD_FIELDS = frozenset(ArchiveRecord.model_fields)
_EXPLAINER_FIELDS = frozenset(Explainer.model_fields)


@dataclass(frozen=True)
class Accepted:
    """A record the archive may append: its value, its RFC 8785 bytes and the hash form of those bytes."""

    value: dict
    body: bytes
    hash_form: int = HASH_FORM_JCS

    @property
    def signal_id(self) -> str:
        return self.value["signal_id"]


def intake(raw: bytes | None, key: bytes | None, source: Source) -> Accepted | DeadLetter:
    """The record to archive, or the dead letter naming why this message cannot be archived. Never raises."""
    return isolate(STAGE_ID, raw, key, source, check_message)


def check_message(raw: bytes | None, key: bytes | None) -> Accepted:
    """Decode and check one message; raises ``Rejected`` (or anything, caught by ``isolate``)."""
    if not raw:
        raise Rejected("empty", "message has no value")
    if len(raw) > MAX_RECORD_BYTES:
        raise Rejected("too_large", f"{len(raw)} bytes, limit {MAX_RECORD_BYTES}")
    obj = decode_json(raw)
    check_record(obj)
    if key is not None and key not in (obj["symbol"].encode("utf-8"), obj["signal_id"].encode("utf-8")):
        raise Rejected("key_mismatch", f"key {key[:64]!r} is neither the symbol nor the signal_id {obj['signal_id']}")
    try:
        body = canonical_jcs(obj)
    except ValueError as exc:  # the checks above should have refused it already
        raise Rejected("not_canonical", f"no RFC 8785 form: {exc}") from exc
    return Accepted(obj, body)


def decode_json(raw: bytes) -> dict:
    """One JSON object from UTF-8 bytes: no duplicate keys, no NaN/Infinity, no number beyond a double's reach."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("undecodable", f"not UTF-8: {exc}") from exc
    try:
        obj = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite_float,
                         parse_int=_safe_int)
    except RecursionError as exc:
        raise Rejected("too_deep", "JSON nested deeper than the parser's recursion limit") from exc
    except Rejected:
        raise
    except ValueError as exc:
        raise Rejected("undecodable", f"not JSON: {str(exc)[:200]}") from exc
    if not isinstance(obj, dict):
        raise Rejected("not_object", f"JSON {type(obj).__name__}, expected an object")
    return obj


def _unique_keys(pairs: list) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise Rejected("duplicate_key", f"key {k[:40]!r} appears twice in one object")
        out[k] = v
    return out


def _no_constant(name: str):
    raise Rejected("non_finite", f"{name} is not JSON (RFC 8259 has no NaN or infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise Rejected("non_finite", f"number {text[:40]} overflows a double")
    return value


def _safe_int(text: str) -> int:
    if len(text.lstrip("-")) > 16:
        raise Rejected("out_of_range", f"integer {text[:40]}... has more than 16 digits")
    value = int(text)
    if abs(value) > MAX_SAFE_INT:
        raise Rejected("out_of_range", f"integer {value} beyond 2**53 - 1 (not exact in a double)")
    return value


def check_record(obj: dict) -> None:
    """Schema, strings, shapes and ids of a decoded record; raises ``Rejected``."""
    version = obj.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version not in KNOWN_SCHEMA_VERSIONS:
        raise Rejected("unknown_schema_version", f"schema_version {str(version)[:40]} is not one this tickscope "
                                                 f"knows ({sorted(KNOWN_SCHEMA_VERSIONS)}); refused, not stored")
    bad = _first_bad_string(obj)
    if bad is not None:
        raise Rejected("bad_string", f"{bad} is not valid Unicode (a lone surrogate)")
    extra = set(obj) - _RECORD_FIELDS
    if extra:
        raise Rejected("unknown_field", f"field(s) {sorted(extra)[:5]} are not in archive schema {version}")
    explainer = obj.get("explainer")
    if isinstance(explainer, dict) and set(explainer) - _EXPLAINER_FIELDS:
        raise Rejected("unknown_field", f"explainer field(s) {sorted(set(explainer) - _EXPLAINER_FIELDS)[:5]}")
    _validate(obj)
    check_shapes(obj)
    if not SYMBOL_RE.fullmatch(obj["symbol"]):
        raise Rejected("bad_symbol", f"symbol {obj['symbol'][:40]!r} does not match {SYMBOL_RE.pattern}")
    if not MODEL_VERSION_RE.fullmatch(obj["model_version"]):
        raise Rejected("bad_model_version", f"model_version {obj['model_version'][:80]!r} is not a sha256 in hex")
    if signal_id_for(obj["symbol"], obj["ts"], obj["model_version"]) != obj["signal_id"]:
        raise Rejected("bad_signal_id", "signal_id is not sha256(symbol|ts|model_version)")
    for name in ("ts", "scored_at", "produced_at"):
        if not 0 <= obj[name] <= MAX_TIME_MS:
            raise Rejected("out_of_range", f"{name} {obj[name]} is not an epoch-ms time between 1970 and 9999")


def _validate(obj: dict) -> None:
    from pydantic import ValidationError

    try:
        ArchiveRecord.model_validate(obj, strict=True)
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise Rejected("invalid", f"{exc.error_count()} schema error(s): {errors}"[:400]) from exc


def _first_bad_string(value, path: str = "record") -> str | None:
    """Path of the first string (or key) that is not valid Unicode; raises ``Rejected`` past ``MAX_DEPTH``."""
    stack = [(path, value, 0)]
    while stack:
        where, v, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Rejected("too_deep", f"{where} is nested more than {MAX_DEPTH} levels deep")
        if isinstance(v, str):
            if not _is_unicode(v):
                return where
        elif isinstance(v, dict):
            for k, item in v.items():
                if not _is_unicode(k):
                    return f"a key of {where}"
                stack.append((f"{where}.{k}", item, depth + 1))
        elif isinstance(v, list):
            stack.extend((f"{where}[{i}]", item, depth + 1) for i, item in enumerate(v))
    return None


def _is_unicode(s: str) -> bool:
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def check_shapes(obj: dict) -> None:
    """The arrays of a validated record agree: [T][F] grids, [T] attention (or null: a model without attention),
    [G] segments inside [0, T)."""
    names, window = obj["feature_names"], obj["window"]
    t, f = len(window), len(names)
    if t == 0 or f == 0:
        raise Rejected("bad_shape", f"window is {t} x {f}: empty")
    for field in ("window", "attributions"):
        grid = obj[field]
        if len(grid) != t or any(len(row) != f for row in grid):
            raise Rejected("bad_shape", f"{field} is not {t} x {f} (feature_names has {f} names)")
    for field, n in (("attention", t), ("feature_attributions", f), ("event_attributions", len(obj["segments"]))):
        if obj[field] is None and field == "attention":
            continue
        if len(obj[field]) != n:
            raise Rejected("bad_shape", f"{field} has {len(obj[field])} values, expected {n}")
    for seg in obj["segments"]:
        if len(seg) != 2 or not 0 <= seg[0] < seg[1] <= t:
            raise Rejected("bad_shape", f"segment {seg[:3]} is not [start, stop) inside 0..{t}")
