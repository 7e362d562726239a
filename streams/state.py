"""Keyed stage state that survives crashes, restarts and rebalances, through a changelog topic.

Why not a Faust Table: a table's changelog write is not ordered after the
outputs its update produced, and a replayed input then looks like a duplicate
and its lost output is never re-sent. Here the order is explicit
(``tickscope.streams.checkpoint``):

1. A batch updates the in-memory state and yields outputs.
2. The outputs are sent and acknowledged.
3. Only then is each changed key's state written to the changelog (key = the
   state's key, partition = the input partition that owns it), stamped with
   the offset of the last input it includes (``applied_offset``).
4. Only then are the input offsets committed.

After a crash a stage resumes from the last committed offset; inputs whose
offset is <= their key's ``applied_offset`` are skipped (their outputs were
acknowledged before the state was written), and the rest are processed again,
giving the same outputs with the same ids (consumers de-duplicate by id).

A changelog record is JSON: ``{"schema_version", "key", "partition",
"applied_offset", "state"}``; an evicted key is written as a tombstone
(``"state": null``). When a partition is loaded, each key keeps the record with
the highest ``applied_offset``, not the last one in the log: a worker that
stalled past its session may still write after the new owner took over, and
its older state must not win. Ties go to the later record (a tombstone written
after the state it removes).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import orjson

STATE_SCHEMA_VERSION = 2  # 1: a symbol's window history at the top level (read, never written)


def encode_state(key: str, partition: int, applied_offset: int, state: dict | None) -> bytes:
    """One changelog value; ``state`` None is the tombstone of an evicted key."""
    body = {"schema_version": STATE_SCHEMA_VERSION, "key": key, "partition": partition,
            "applied_offset": applied_offset, "state": state}
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")


def encode_window_state(key: str, partition: int, applied_offset: int, state: dict | None) -> bytes:
    """``encode_state``'s bytes for the detect stage's window state, ~6x faster (orjson).

    A detect checkpoint encodes every symbol changed since the last one while no batch is read (1,000
    symbols: ~31 ms with json, ~5 ms here). Only for that state: str, ints, and lists of floats and None.
    orjson writes a non-finite float as null where json would raise; ``SymbolWindows.state_of`` refuses a
    non-finite price or size before it gets here (ingest lets none through)."""
    return orjson.dumps({"schema_version": STATE_SCHEMA_VERSION, "key": key, "partition": partition,
                         "applied_offset": applied_offset, "state": state})



def decode_state(raw: bytes) -> tuple[str, int, dict | None]:
    """(key, applied_offset, state or None) of one changelog value; ValueError if it is not one."""
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("not a changelog record")
    version = int(body.get("schema_version", 0))
    if version > STATE_SCHEMA_VERSION:
        raise ValueError(f"state schema_version {version} is newer than this worker")
    if version == 1:  # a window history written before the envelope: the history is the state
        state = {k: v for k, v in body.items() if k not in ("schema_version", "symbol", "partition")}
        return str(body["symbol"]), int(body.get("applied_offset", -1)), state
    if not isinstance(body.get("key"), str):
        raise ValueError("not a changelog record")
    return body["key"], int(body["applied_offset"]), body.get("state")


def latest_states(values: Iterable[bytes | None]) -> dict[str, tuple[int, dict]]:
    """key -> (applied_offset, state) of a partition's changelog, oldest first; tombstoned keys are absent."""
    best: dict[str, tuple[int, dict | None]] = {}
    for raw in values:
        if raw is None:
            continue
        key, offset, state = decode_state(raw)
        if key not in best or offset >= best[key][0]:
            best[key] = (offset, state)
    return {k: (o, s) for k, (o, s) in best.items() if s is not None}
