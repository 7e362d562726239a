"""The archive store's plain values: a message as received, a stored record, a batch's result, a gap."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tickscope.audit.heads import Head
from tickscope.audit.store_schema import ArchiveError
from tickscope.contracts.dead_letters import Source
from tickscope.contracts.records import WALL_CLOCK_FIELDS


class DoubtfulLog(ArchiveError):
    """The stored log does not match what the archiver signed or the witness holds: it must not be extended."""


@dataclass(frozen=True)
class Incoming:
    """One message from the explanations topic, as the archiver received it."""

    value: bytes | None
    key: bytes | None
    source: str  # "topic/partition@offset"

    def origin(self) -> Source:
        topic, _, rest = self.source.rpartition("/")
        partition, _, offset = rest.partition("@")
        try:
            return Source(topic, int(partition), int(offset))
        except ValueError:
            return Source(self.source, -1, -1)


@dataclass(frozen=True)
class Gap:
    """Offsets of a partition that were deleted (retention) before the archiver read them."""

    topic: str
    partition: int
    from_offset: int
    to_offset: int  # exclusive
    detail: str = ""

    @property
    def records(self) -> int:
        return self.to_offset - self.from_offset


@dataclass
class BatchResult:
    appended: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    rejected_reasons: list[str] = field(default_factory=list)
    head: Head | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredRecord:
    seq: int
    signal_id: str
    symbol: str
    ts: int
    model_version: str
    schema_version: int
    body: bytes
    leaf_hash: bytes
    log_root: bytes
    source: str
    archived_at: int
    hash_form: int = 1

    def value(self) -> dict:
        return json.loads(self.body)


def without_wall_clock(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in WALL_CLOCK_FIELDS}
