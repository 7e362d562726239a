"""Stage ``ingest`` over a whole fetch batch: raw messages -> columns of valid ticks, and rejections.

Fast path: a message is decoded by msgspec straight into a typed tick (an
integer ts, numeric price and size: the JSON types the contract allows), and
one whose symbol is known-good and equal to the key goes into the columns; the
range checks run in numpy over the batch. A message msgspec refuses is split by
orjson (an array's good elements still take the fast path). Anything else takes
the reference path
(``tickscope.streams.ingest.validate`` and ``validate_object``), so every
rejection carries the reference's own reason and detail, byte for byte.

A message is one tick (a JSON object, at most ``max_bytes``) or, as an option
for producers that batch, several ticks (a JSON array of tick objects, at most
``max_array_bytes``). Each element of an array is checked on its own; a bad
element is rejected with the detail prefixed ``tick <i>:``, the good ones go on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import msgspec
import numpy as np
import orjson

from tickscope.contracts.dead_letters import Rejected
from tickscope.streams.ingest import MAX_FUTURE_MS, MAX_PRICE, MIN_TS_MS, SYMBOL_RE, decode_json, validate_object

KNOWN_SYMBOLS = 200_000  # symbols remembered as regex-valid (the cache is cleared beyond it)


class _Tick(msgspec.Struct):
    """The shape of a plainly valid tick; extra fields are ignored, as the reference does."""

    symbol: str
    ts: int
    price: float
    size: float | None = None


_decode_tick = msgspec.json.Decoder(_Tick | list[_Tick]).decode


@dataclass
class Columns:
    """Valid ticks of a batch in arrival order, and the rejections (message index, element or None, why)."""

    msg: np.ndarray  # int64 index of the message each tick came in
    symbol: list[str]
    ts: np.ndarray  # int64 epoch ms
    price: np.ndarray  # float64
    size: np.ndarray  # float64, NaN = no size
    rejects: list[tuple[int, int | None, Rejected]] = field(default_factory=list)


class BatchDecoder:
    """Decodes batches; remembers which symbols passed the regex (as the key bytes they must equal)."""

    def __init__(self, max_bytes: int, max_array_bytes: int):
        self.max_bytes, self.max_array_bytes = max_bytes, max_array_bytes
        self.known: dict[str, bytes] = {}

    def decode(self, values: list, keys: list, now: int) -> Columns:
        if len(self.known) > KNOWN_SYMBOLS:
            self.known.clear()
        fast, slow = [], []  # fast: (msg, elem, symbol, ts, price, size); slow: (msg, elem or None)
        for i, raw in enumerate(values):
            if not self._typed(i, raw, keys[i], fast):
                self._split(i, raw, keys[i], fast, slow)
        fast, slow = self._range_check(fast, slow, now)
        good, rejects = list(fast), []
        for i, e in slow:
            self._reference(i, e, values[i], keys[i], now, good, rejects)
        if slow:
            good.sort(key=lambda t: (t[0], -1 if t[1] is None else t[1]))
        rejects.sort(key=lambda r: (r[0], -1 if r[1] is None else r[1]))
        return Columns(msg=np.fromiter((t[0] for t in good), np.int64, len(good)), symbol=[t[2] for t in good],
                       ts=np.fromiter((t[3] for t in good), np.int64, len(good)),
                       price=np.fromiter((t[4] for t in good), np.float64, len(good)),
                       size=np.fromiter((t[5] for t in good), np.float64, len(good)), rejects=rejects)

    def _typed(self, i: int, raw, key, fast: list) -> bool:
        """True when msgspec took the whole message as plainly valid ticks (all in ``fast``)."""
        if raw is None or len(raw) > self.max_bytes:
            return False
        try:
            ticks = _decode_tick(raw)
        except (msgspec.DecodeError, RecursionError):  # deep nesting, even in a field it skips, raises the latter
            return False
        if type(ticks) is not list:
            return self._known(ticks.symbol, key) and not fast.append(
                (i, None, ticks.symbol, ticks.ts, ticks.price, math.nan if ticks.size is None else ticks.size))
        if not ticks or not all(self._known(t.symbol, key) for t in ticks):
            return False
        fast.extend((i, e, t.symbol, t.ts, t.price, math.nan if t.size is None else t.size)
                    for e, t in enumerate(ticks))
        return True

    def _known(self, symbol: str, key) -> bool:
        """The symbol matches the contract's pattern (remembered) and equals the key, if there is one."""
        expected = self.known.get(symbol)
        if expected is None:
            if not SYMBOL_RE.fullmatch(symbol):
                return False
            expected = self.known[symbol] = symbol.encode("utf-8")
        return key is None or key == expected

    def _split(self, i: int, raw, key, fast: list, slow: list) -> None:
        """Plainly valid ticks of one message to ``fast``; the message (or element) to ``slow`` otherwise."""
        if raw is None or len(raw) > self.max_array_bytes:
            slow.append((i, None))
            return
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            slow.append((i, None))
            return
        if type(obj) is dict:
            if len(raw) > self.max_bytes or not self._plain(i, None, obj, key, fast):
                slow.append((i, None))
        elif type(obj) is list and obj:
            for e, element in enumerate(obj):
                if not self._plain(i, e, element, key, fast):
                    slow.append((i, e))
        else:
            slow.append((i, None))

    def _plain(self, i: int, e, obj, key, fast: list) -> bool:
        if type(obj) is not dict:
            return False
        symbol, ts, price, size = obj.get("symbol"), obj.get("ts"), obj.get("price"), obj.get("size")
        if type(symbol) is not str or type(ts) is not int or type(price) not in (int, float):
            return False
        if size is not None and type(size) not in (int, float):
            return False
        if not self._known(symbol, key):
            return False
        fast.append((i, e, symbol, ts, price, math.nan if size is None else size))
        return True

    @staticmethod
    def _range_check(fast: list, slow: list, now: int) -> tuple[list, list]:
        """Numeric ranges over the whole batch in numpy; a tick outside them takes the reference path."""
        if not fast:
            return fast, slow
        try:
            ts = np.fromiter((t[3] for t in fast), np.int64, len(fast))
            price = np.fromiter((t[4] for t in fast), np.float64, len(fast))
            size = np.fromiter((t[5] for t in fast), np.float64, len(fast))
        except OverflowError:  # an integer beyond int64 / float64: check them one by one
            return [], slow + [(t[0], t[1]) for t in fast]
        ok = (ts >= MIN_TS_MS) & (ts <= now + MAX_FUTURE_MS) & (price > 0) & (price < MAX_PRICE)
        ok &= np.isfinite(price) & (np.isnan(size) | ((size >= 0) & np.isfinite(size)))
        if ok.all():
            return fast, slow
        keep = ok.tolist()
        return [t for t, k in zip(fast, keep) if k], slow + [(t[0], t[1]) for t, k in zip(fast, keep) if not k]

    def _reference(self, i: int, e, raw, key, now: int, good: list, rejects: list) -> None:
        """The reference checks: the exact reason of a bad tick, or a valid one the fast path was too strict for."""
        try:
            if e is None:
                obj = self._whole_message(raw)
                if type(obj) is list:
                    for j, element in enumerate(obj):  # an array the fast path could not even split
                        self._reference_element(i, j, element, key, now, good, rejects)
                    return
            else:
                obj = orjson.loads(raw)[e]
            self._reference_element(i, e, obj, key, now, good, rejects)
        except Rejected as exc:
            rejects.append((i, e, exc))

    def _whole_message(self, raw):
        if raw is None:
            raise Rejected("empty", "message has no value")
        if len(raw) > self.max_array_bytes:
            raise Rejected("too_large", f"{len(raw)} bytes > limit {self.max_array_bytes}")
        obj = decode_json(raw)
        if isinstance(obj, list):
            if not obj:
                raise Rejected("not_object", "JSON value must be an object or a non-empty array of them, got []")
            return obj
        if len(raw) > self.max_bytes:
            raise Rejected("too_large", f"{len(raw)} bytes > limit {self.max_bytes}")
        return obj

    @staticmethod
    def _reference_element(i: int, e, obj, key, now: int, good: list, rejects: list) -> None:
        try:
            symbol, ts, price, size = validate_object(obj, key, now)
        except Rejected as exc:
            if e is not None:
                exc = Rejected(exc.reason, f"tick {e}: {exc.detail}")
            rejects.append((i, e, exc))
            return
        good.append((i, e, symbol, ts, price, math.nan if size is None else size))
