"""The route for bad input: a rejected message becomes a ``DeadLetter`` with its bytes, reason and origin.

The rule every consumer follows (detect, explain, alert, the archiver, the
dashboard's reader, and any stage added later): a message is first decoded
and checked by ``isolate``, which turns anything the check raises into a dead
letter, so no input can stop a consumer; only what passed is then applied to
the consumer's state, so a rejected message changes nothing. A dead letter
always names the stage (its stable id), a stable reason label (for metrics and
alerts), a human-readable detail, the original key and value (base64) and the
topic/partition/offset it was read from.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tickscope.contracts.records import DeadLetter
from tickscope.contracts.times import now_ms

T = TypeVar("T")
DETAIL_CHARS = 400  # a dead letter's detail is for a person: the start of the error message


class Rejected(ValueError):
    """An input a stage refuses; ``reason`` is a stable label for metrics and the dead-letter topic."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Source:
    """Where a message came from: topic, partition and offset."""

    topic: str
    partition: int
    offset: int


def dead_letter(stage: str, raw: bytes | None, key: bytes | None, error: Rejected, source: Source) -> DeadLetter:
    """The dead-letter record of a rejected message: original bytes, reason, and where it was read."""
    return DeadLetter(
        stage=stage,
        reason=error.reason,
        detail=error.detail,
        original_b64=base64.b64encode(raw or b"").decode("ascii"),
        original_key_b64=None if key is None else base64.b64encode(key).decode("ascii"),
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        rejected_at=now_ms(),
    )


def isolate(stage: str, raw: bytes | None, key: bytes | None, source: Source,
            decode: Callable[[bytes | None, bytes | None], T]) -> T | DeadLetter:
    """``decode(raw, key)``, or the dead letter of this message if it raises anything at all.

    A ``Rejected`` keeps its reason; any other exception (a bug, a RecursionError on deep nesting, an
    OverflowError on a huge number) becomes reason ``<stage>_error`` with the exception's type in the detail.
    ``decode`` must not change state: the consumer applies what it returns only when it is not a dead letter.
    """
    try:
        return decode(raw, key)
    except Rejected as exc:
        return dead_letter(stage, raw, key, exc, source)
    except Exception as exc:  # noqa: BLE001 - the rule: no input stops a consumer
        detail = f"{type(exc).__name__}: {exc}"[:DETAIL_CHARS]
        return dead_letter(stage, raw, key, Rejected(f"{stage}_error", detail), source)
