"""Times given by people (CLI options, search boxes, CSV files) -> epoch milliseconds UTC."""

from __future__ import annotations

from datetime import datetime, timezone


def parse_time_ms(text: str | None) -> int | None:
    """Epoch ms, or ISO-8601 (``Z`` or an offset; without one, UTC); None for empty input."""
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
