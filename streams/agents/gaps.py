"""Nothing skipped silently: a Faust agent notices when retention deleted input its group never read.

With ``auto_offset_reset="earliest"``, a group whose committed offset is
below the partition's log start (retention deleted messages before the group
got to them) silently continues at the log start. ``GapWatch`` checks each
partition newly assigned to an agent once, before the agent processes its
first message from it: committed < log start is counted in
``tickscope_input_gap_messages_total{stage,topic}`` (start - committed
messages) and logged at ERROR, then the agent goes on (the messages are gone;
stopping would not bring them back, and the alert rule
``TickscopeInputGap`` tells a person).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tickscope import metrics
from tickscope.settings import Settings

log = logging.getLogger("tickscope.worker")
Offsets = Callable[[int], tuple[int | None, int]]  # partition -> (committed offset or None, log start offset)


def gap_size(committed: int | None, start: int) -> int:
    """Messages deleted before the group read them: start - committed when committed < start, else 0."""
    return start - committed if committed is not None and committed < start else 0


def group_offsets(settings: Settings, group: str, topic: str) -> Offsets:
    """Reads (committed offset of ``group``, log start) of one partition of ``topic`` (blocking; kafka-python)."""

    def read(partition: int) -> tuple[int | None, int]:
        from kafka import KafkaConsumer, TopicPartition

        tp = TopicPartition(topic, partition)
        consumer = KafkaConsumer(**settings.kafka_python_config(), group_id=group, enable_auto_commit=False)
        try:
            return consumer.committed(tp), consumer.beginning_offsets([tp])[tp]
        finally:
            consumer.close()

    return read


class GapWatch:
    """The partitions of one topic assigned to one agent that still need their gap check."""

    def __init__(self, stage: str, topic: str, offsets: Offsets):
        self.stage, self.topic, self.offsets = stage, topic, offsets
        metrics.INPUT_GAP.labels(stage, topic)  # exported at 0 from the start, so the alert rule sees the increase
        self.owned: set[int] = set()
        self.pending: set[int] = set()

    def assigned(self, partitions: set[int]) -> None:
        """The new assignment (the whole of it, as Faust reports it): newly assigned partitions are checked."""
        self.pending = (self.pending & partitions) | (partitions - self.owned)
        self.owned = set(partitions)

    async def check(self, partition: int) -> int:
        """Count and log the gap of ``partition`` if its check is pending; the gap in messages (0: none)."""
        if partition not in self.pending:
            return 0
        committed, start = await asyncio.to_thread(self.offsets, partition)
        self.pending.discard(partition)
        missed = gap_size(committed, start)
        if missed:
            metrics.INPUT_GAP.labels(self.stage, self.topic).inc(missed)
            log.error("tickscope %s: GAP in %s[%d]: offsets %d..%d were deleted before they were read",
                      self.stage, self.topic, partition, committed, start - 1)
        return missed


def watch_assignments(app, watch: GapWatch) -> None:
    """Keep ``watch`` told of the app's assignment (Faust sends the whole new assignment on each rebalance)."""

    @app.on_partitions_assigned.connect
    async def _assigned(sender, assigned, **kwargs) -> None:
        watch.assigned({tp.partition for tp in assigned if tp.topic == watch.topic})
