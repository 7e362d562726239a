"""Replay from raw ticks: re-run detection offline over a file of ticks and compare the fired ids with the archive.

``tickscope replay --ticks FILE``: the same signals must fire with the same ids
(``tickscope.streams.offline`` runs the worker's detect path).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tickscope.audit.replay_params import ReplayError


def tick_messages(path: Path, symbol: str | None) -> list:
    """Messages for SignalDetector from a JSON-lines file of tick values or a CSV (with ``symbol``)."""
    from tickscope.marketdata.feed import tick_json
    from tickscope.marketdata.sources import SourceError, read_csv
    from tickscope.streams.detect import Message

    path = Path(path)
    if not path.exists():
        raise ReplayError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        if not symbol:
            raise ReplayError(f"{path}: a CSV has no symbol column; pass --symbol")
        try:
            rows = read_csv(path)
        except SourceError as exc:
            raise ReplayError(str(exc)) from exc
        return [Message(symbol.encode(), tick_json(symbol, r), 0, i)
                for i, r in enumerate(rows, start=2)]  # offsets are CSV line numbers
    messages = []
    with path.open("rb") as fh:
        for i, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            if symbol:
                try:
                    if json.loads(line).get("symbol") != symbol:
                        continue
                except (ValueError, AttributeError):
                    pass  # let ingest name the bad line
            messages.append(Message(None, line, 0, i))
    return messages


@dataclass
class TickReplay:
    signals: list
    dead_letters: list
    accepted: int
    model_version: str
    compared_ids: set  # archive signals in the same symbols, time span and model version

    @property
    def fired_ids(self) -> set:
        return {s.signal_id for s in self.signals}

    @property
    def matches(self) -> bool:
        return self.fired_ids == self.compared_ids


def replay_ticks(messages: list, model, cooldown: int, max_message_bytes: int, batch_size: int,
                 store=None, source: str = "ticks") -> TickReplay:
    """Run the detection path offline over ``messages`` and compare the fired ids with the archive."""
    import torch

    from tickscope.contracts.times import now_ms
    from tickscope.streams.offline import detect

    torch.set_num_threads(1)
    detected = detect(messages, model, cooldown, max_message_bytes, batch_size, now_ms(), topic=source)
    compared = set()
    if store is not None:
        first_ts = _first_ts(messages)
        for sym, last_ts in detected.last_ts.items():
            for rec in store.records(symbol=sym, ts_from=first_ts.get(sym), ts_to=last_ts,
                                     model_version=model.version):
                compared.add(rec.signal_id)
    return TickReplay(detected.signals, detected.dead_letters, detected.accepted, model.version, compared)


def _first_ts(messages: list) -> dict:
    first: dict = {}
    for m in messages:
        try:
            obj = json.loads(m.value)
            ts = obj["ts"]
            if isinstance(ts, int):
                first.setdefault(obj["symbol"], ts)
                first[obj["symbol"]] = min(first[obj["symbol"]], ts)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return first
