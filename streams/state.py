"""Per-symbol window state that survives crashes, restarts and rebalances.

Why not a Faust Table: a table's changelog write is not ordered after the
signals its update produced, and a replayed tick then looks like a duplicate
and its lost signal is never re-sent. Here the order is explicit:

1. A micro-batch updates the in-memory histories and yields signals.
2. The agent sends the signals and waits for the broker's ack.
3. Only then is each changed symbol's history written to the changelog topic
   (key = symbol, partition = the tick's partition), stamped with the offset
   of the last tick it includes (``applied_offset``).

After a crash the worker resumes from the last committed offset; ticks whose
offset is <= their symbol's ``applied_offset`` are skipped (their signals were
acked before the state was written), and the rest are processed again,
giving the same signals with the same ids (consumers de-duplicate by id).

A partition's state is (re)loaded from the changelog whenever the next offset
seen on it is not the one expected: on first sight, after a rewind (crash,
re-delivery) and after a forward jump (another worker owned it meanwhile).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable

from tickscope.features.history import SymbolHistory

STATE_SCHEMA_VERSION = 1
log = logging.getLogger("tickscope.state")


def encode_history(symbol: str, partition: int, history: SymbolHistory) -> bytes:
    body = {"schema_version": STATE_SCHEMA_VERSION, "symbol": symbol, "partition": partition, **history.to_dict()}
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def decode_history(raw: bytes) -> tuple[str, SymbolHistory]:
    body = json.loads(raw)
    if int(body.get("schema_version", 0)) > STATE_SCHEMA_VERSION:
        raise ValueError(f"window state schema_version {body['schema_version']} is newer than this worker")
    return body["symbol"], SymbolHistory.from_dict(body)


def replay_changelog(values: Iterable[bytes]) -> dict[str, SymbolHistory]:
    """Latest history per symbol from a partition's changelog values, oldest first."""
    latest: dict[str, SymbolHistory] = {}
    for raw in values:
        if raw is None:
            continue
        symbol, history = decode_history(raw)
        latest[symbol] = history
    return latest


class WindowStore:
    """Symbol histories grouped by the ticks partition that owns them."""

    def __init__(self, load_partition: Callable[[int], Iterable[bytes]]):
        self.load_partition = load_partition
        self.histories: dict[str, SymbolHistory] = {}
        self.partition_of: dict[str, int] = {}
        self.next_offset: dict[int, int] = {}
        self.reloads = 0

    def ensure(self, partition: int, offset: int) -> None:
        """Reload the partition's state unless ``offset`` is the next one expected."""
        if self.next_offset.get(partition) != offset:
            self._reload(partition, offset)
        self.next_offset[partition] = offset + 1

    def _reload(self, partition: int, offset: int) -> None:
        for symbol in [s for s, p in self.partition_of.items() if p == partition]:
            del self.histories[symbol], self.partition_of[symbol]
        loaded = replay_changelog(self.load_partition(partition))
        for symbol, history in loaded.items():
            self.histories[symbol] = history
            self.partition_of[symbol] = partition
        self.reloads += 1
        log.info("state of partition %d reloaded at offset %d (expected %s): %s", partition, offset,
                 self.next_offset.get(partition), {s: h.applied_offset for s, h in loaded.items()})

    def get(self, symbol: str, partition: int) -> SymbolHistory:
        if symbol not in self.histories:
            self.histories[symbol] = SymbolHistory()
        self.partition_of[symbol] = partition
        return self.histories[symbol]
