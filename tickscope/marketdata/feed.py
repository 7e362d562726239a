"""Publish real market data to ``ticks`` as JSON, keyed by symbol (``tickscope feed``).

Bars become ticks as documented in ``tickscope.marketdata.sources`` (one tick per bar, at
its close). ``speed`` is ticks per second (0 = as fast as possible).
``loop`` replays the series again and again, shifting every timestamp forward
by the series' span each pass, so the replay stays in time order and the
worker keeps accepting it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from tickscope.marketdata.sources import TickRow


def _tick(symbol: str, row: TickRow) -> dict:
    body = {"symbol": symbol, "ts": row.ts, "price": row.price}
    if row.size is not None:
        body["size"] = row.size
    return body


def tick_json(symbol: str, row: TickRow) -> bytes:
    """The wire form of one tick (docs/contracts.md): compact JSON, ``size`` only when known."""
    return json.dumps(_tick(symbol, row), separators=(",", ":")).encode("utf-8")


def ticks_json(symbol: str, rows: list[TickRow]) -> bytes:
    """Several ticks of one symbol in one message (the optional array form of docs/contracts.md)."""
    return json.dumps([_tick(symbol, r) for r in rows], separators=(",", ":")).encode("utf-8")


def replay(rows: list[TickRow], loop: bool) -> Iterator[TickRow]:
    """The rows once, or forever with timestamps shifted forward each pass."""
    if not rows:
        return
    span = rows[-1].ts - rows[0].ts + max(1, (rows[-1].ts - rows[0].ts) // max(1, len(rows) - 1))
    shift = 0
    while True:
        for row in rows:
            yield TickRow(ts=row.ts + shift, price=row.price, size=row.size)
        if not loop:
            return
        shift += span


class Pacer:
    """Sleeps so that ``n`` ticks take n / speed seconds (speed 0: never sleeps)."""

    def __init__(self, speed: float):
        self.speed = speed
        self.start = time.monotonic()
        self.sent = 0

    def tick(self) -> None:
        self.sent += 1
        if self.speed > 0:
            delay = self.start + self.sent / self.speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)


def publish(producer, topic: str, symbol: str, rows: list[TickRow], speed: float,
            limit: int | None = None, loop: bool = False, progress=None, per_message: int = 1) -> int:
    """Send ticks through a kafka-python producer, ``per_message`` ticks to a message (more than one: the
    array form); returns how many ticks were sent. ``speed`` is in ticks per second."""
    pacer = Pacer(speed / per_message if speed else 0.0)
    sent = 0
    key = symbol.encode("utf-8")
    pending: list[TickRow] = []
    for row in replay(rows, loop):
        if limit is not None and sent + len(pending) >= limit:
            break
        pending.append(row)
        if len(pending) < per_message:
            continue
        sent += _send(producer, topic, key, symbol, pending, progress)
        pending = []
        pacer.tick()
    if pending:
        sent += _send(producer, topic, key, symbol, pending, progress)
    producer.flush()
    return sent


def _send(producer, topic: str, key: bytes, symbol: str, rows: list[TickRow], progress) -> int:
    value = tick_json(symbol, rows[0]) if len(rows) == 1 else ticks_json(symbol, rows)
    producer.send(topic, key=key, value=value)
    if progress is not None:
        progress.update(len(rows))
    return len(rows)
