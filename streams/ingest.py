"""Stage ``ingest``: raw bytes from ``ticks`` -> valid ticks, or a DeadLetter with a reason.

The consumer hands over raw bytes, so decoding happens here and an
undecodable message is routed to the dead-letter topic like any other bad
input. ``validate`` checks one single-tick message and is the reference: its
reasons and details are the contract (docs/contracts.md). The detect stage
decodes whole batches with ``tickscope.streams.ingest_batch``, which takes a
fast path for plainly valid ticks and hands everything else to the checks here,
so both give the same reasons, byte for byte.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime

from tickscope.contracts.dead_letters import Rejected, Source, isolate
from tickscope.contracts.records import DeadLetter, Tick
from tickscope.contracts.times import now_ms

STAGE_ID = "ingest"
SYMBOL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/\-]{0,31}")  # the whole symbol (fullmatch: no "EURUSD\n")
MIN_TS_MS = 315_532_800_000  # 1980-01-01T00:00:00Z: older market data is implausible here
MAX_FUTURE_MS = 86_400_000  # a tick may be at most one day ahead of the wall clock
MAX_PRICE = 1e12


def parse_ts(value) -> int:
    """Epoch milliseconds UTC from an int, or from an ISO-8601 string with an offset."""
    if isinstance(value, bool):
        raise Rejected("bad_ts", "ts must be epoch milliseconds or ISO-8601, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise Rejected("bad_ts", f"unparseable ISO-8601 ts {value[:40]!r}") from exc
        if dt.tzinfo is None:
            raise Rejected("bad_ts", f"ISO-8601 ts without a UTC offset {value[:40]!r}")
        return int(dt.timestamp() * 1000)
    raise Rejected("bad_ts", f"ts must be an integer of epoch milliseconds, got {type(value).__name__}")


def _number(obj: dict, name: str, *, required: bool) -> float | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise Rejected(f"missing_{name}", f"field {name!r} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Rejected(f"bad_{name}", f"{name} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError as exc:
        raise Rejected(f"bad_{name}", f"{name} must be finite, got an integer of {len(str(value))} digits") from exc
    if not math.isfinite(number):
        raise Rejected(f"bad_{name}", f"{name} must be finite")
    return number


def validate(raw: bytes, key: bytes | None, max_bytes: int, now: int | None = None) -> Tick:
    """Decode and check one tick; raises Rejected with a reason label."""
    if raw is None:
        raise Rejected("empty", "message has no value")
    if len(raw) > max_bytes:
        raise Rejected("too_large", f"{len(raw)} bytes > limit {max_bytes}")
    obj = decode_json(raw)
    symbol, ts, price, size = validate_object(obj, key, now_ms() if now is None else now)
    return Tick(symbol=symbol, ts=ts, price=price, size=size)


def decode_json(raw: bytes):
    """The JSON value of a message; Rejected("undecodable") for anything that is not UTF-8 JSON."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected("undecodable", f"not UTF-8 JSON: {exc}") from exc
    except RecursionError as exc:
        raise Rejected("undecodable", "JSON nested too deeply") from exc


def validate_object(obj, key: bytes | None, now: int) -> tuple[str, int, float, float | None]:
    """(symbol, ts ms, price, size) of one decoded tick object; Rejected with a reason label otherwise."""
    if not isinstance(obj, dict):
        raise Rejected("not_object", f"JSON value must be an object, got {type(obj).__name__}")
    symbol = obj.get("symbol")
    if not isinstance(symbol, str) or not SYMBOL_RE.fullmatch(symbol):
        raise Rejected("bad_symbol", f"symbol must match {SYMBOL_RE.pattern}, got {str(symbol)[:40]!r}")
    if key is not None and key != symbol.encode("utf-8"):
        raise Rejected("key_mismatch", f"message key {key[:40]!r} is not the symbol {symbol!r}")
    if "ts" not in obj:
        raise Rejected("missing_ts", "field 'ts' is required")
    ts = parse_ts(obj["ts"])
    if not MIN_TS_MS <= ts <= now + MAX_FUTURE_MS:
        raise Rejected("implausible_ts", f"ts {ts} outside [1980-01-01, now + 1 day]")
    price = _number(obj, "price", required=True)
    if not 0 < price < MAX_PRICE:
        raise Rejected("bad_price", f"price must be in (0, {MAX_PRICE:g}), got {price}")
    size = _number(obj, "size", required=False)
    if size is not None and size < 0:
        raise Rejected("bad_size", f"size must be >= 0, got {size}")
    return symbol, ts, price, size



def ingest(raw: bytes | None, key: bytes | None, source: Source, max_bytes: int) -> Tick | DeadLetter:
    """Split one message into a good Tick or a DeadLetter: bad input always has a route."""
    return isolate(STAGE_ID, raw, key, source, lambda value, k: validate(value, k, max_bytes))
