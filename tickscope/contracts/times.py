"""Time on the wire is integer epoch milliseconds UTC; these convert to and from what people write and read."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def now_ms() -> int:
    """Wall-clock now, epoch milliseconds UTC."""
    return time.time_ns() // 1_000_000


def iso_utc(ms: int, timespec: str = "milliseconds") -> str:
    """``2024-01-02T03:04:05.678Z`` (``timespec`` as ``datetime.isoformat``: "seconds" drops the milliseconds)."""
    stamp = datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc).isoformat(timespec=timespec)
    return stamp.replace("+00:00", "Z")


def parse_time_ms(text: str | None) -> int | None:
    """Epoch ms, or ISO-8601 (``Z`` or an offset; without one, UTC); None for empty input.

    For times given by people (CLI options, search boxes, CSV files), not for the wire.
    """
    if text is None or not str(text).strip():
        return None
    t = str(text).strip()
    if t.lstrip("-").isdigit():
        return int(t)
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"time {text!r} is neither epoch ms nor ISO-8601") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)
