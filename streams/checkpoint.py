"""The delivery order every agent follows for a batch: outputs, then state, then offsets.

Why this order: after a crash at any point, a worker resumes from the last
committed input offset, so whatever the batch produced must already be safe
by the time its offsets are committed, and the saved state must never claim
inputs whose outputs were lost.

- Step 1, outputs: every output record (signals, explanations, alerts, dead
  letters) is sent, and the broker's acknowledgement of each is awaited.
- Step 2, state: the state that includes this batch (changelog records,
  each stamped with the input offset it includes) is written and
  acknowledged. It is only written once step 1 has fully succeeded.
- Step 3, offsets: the batch's input offsets are committed, only once step 2
  has fully succeeded.

A failure in a step raises and leaves the later steps undone: the batch is
read again after a restart, its outputs sent again (consumers de-duplicate by
their deterministic ids) and its state written again. Outputs may be sent as
soon as they exist (``send``), so their network time overlaps the work on the
rest of the batch; ``complete`` then runs the three steps in order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    """One record to put on a topic (partition None: the producer's partitioner chooses by key)."""

    topic: str
    key: bytes | None
    value: bytes
    partition: int | None = None


class Producer(Protocol):
    async def send(self, record: Outgoing) -> Awaitable:
        """Start sending ``record``; the returned awaitable completes when the broker has acknowledged it."""


class StepFailed(RuntimeError):
    """A checkpoint step did not complete; ``step`` is 1 (outputs), 2 (state) or 3 (offsets)."""

    def __init__(self, step: int, cause: BaseException):
        super().__init__(f"checkpoint step {step} failed: {type(cause).__name__}: {cause}")
        self.step = step


class Checkpoint:
    """One batch's way to the broker: ``send`` outputs as they exist, then ``complete`` the three steps."""

    def __init__(self, producer: Producer, commit_offsets: Callable[[], Awaitable[None]] | None = None):
        self.producer = producer
        self.commit_offsets = commit_offsets
        self._pending: list[Awaitable] = []
        self.completed = False

    async def send(self, record: Outgoing) -> None:
        """Start sending one output (step 1 begins); its acknowledgement is awaited in ``complete``."""
        if self.completed:
            raise RuntimeError("this checkpoint is complete: start a new one for the next batch")
        try:
            self._pending.append(await self.producer.send(record))
        except Exception as exc:
            raise StepFailed(1, exc) from exc

    async def acknowledged(self) -> None:
        """Step 1 alone: every output sent so far is acknowledged (a stage that saves state less often than
        it sends outputs calls this per batch, and ``complete`` at its checkpoints)."""
        try:
            for ack in self._pending:
                await ack
        except Exception as exc:
            raise StepFailed(1, exc) from exc
        self._pending.clear()

    async def complete(self, state: Iterable[Outgoing] = ()) -> None:
        """Run the three steps in order; raises StepFailed and stops at the first step that fails."""
        # Step 1: every output of the batch is acknowledged by the broker.
        await self.acknowledged()
        # Step 2: the state that includes the batch is written and acknowledged.
        try:
            saved = [await self.producer.send(record) for record in state]
            for ack in saved:
                await ack
        except Exception as exc:
            raise StepFailed(2, exc) from exc
        # Step 3: only now may the batch's input offsets be committed.
        try:
            if self.commit_offsets is not None:
                await self.commit_offsets()
        except Exception as exc:
            raise StepFailed(3, exc) from exc
        self.completed = True
