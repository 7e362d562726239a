"""The delivery order, outputs -> state -> offsets, with a failure injected between every pair of steps.

An in-memory broker records what it has acknowledged. A crash at any point
must leave it in a state from which re-reading the uncommitted batch repairs
everything: no state without its outputs, no committed offset without its
state. The same batch is then delivered again and must complete.
"""

from __future__ import annotations

import asyncio

import pytest

from tickscope.streams.checkpoint import Checkpoint, Outgoing, StepFailed

OUTPUTS = [Outgoing("signals", b"EURUSD", b"s1"), Outgoing("ticks.dlq", b"ticks", b"bad")]
STATE = [Outgoing("changelog", b"EURUSD", b"state@41", partition=2)]


class Broker:
    """Acknowledged records and committed offsets; fails the n-th send, or its ack, or the commit, on request."""

    def __init__(self, fail_send_at: int | None = None, fail_ack_at: int | None = None, fail_commit: bool = False):
        self.acked: list[Outgoing] = []
        self.committed = False
        self.sends = 0
        self.fail_send_at, self.fail_ack_at, self.fail_commit = fail_send_at, fail_ack_at, fail_commit
        self.log: list[str] = []

    async def send(self, record: Outgoing):
        self.sends += 1
        n = self.sends
        if n == self.fail_send_at:
            raise ConnectionError(f"send {n} refused")
        self.log.append(f"send {record.topic}")

        async def ack():
            await asyncio.sleep(0)
            if n == self.fail_ack_at:
                raise TimeoutError(f"ack {n} lost")
            self.acked.append(record)
            self.log.append(f"ack {record.topic}")

        return asyncio.ensure_future(ack())

    async def commit(self):
        if self.fail_commit:
            raise ConnectionError("commit refused")
        self.committed = True
        self.log.append("commit")


def deliver(broker: Broker) -> None:
    async def run():
        checkpoint = Checkpoint(broker, broker.commit)
        for record in OUTPUTS:
            await checkpoint.send(record)
        await checkpoint.complete(STATE)

    asyncio.run(run())


def test_a_batch_goes_outputs_then_state_then_offsets():
    broker = Broker()
    deliver(broker)
    assert broker.log == ["send signals", "send ticks.dlq", "ack signals", "ack ticks.dlq", "send changelog",
                          "ack changelog", "commit"]


# (failure, the step that must fail, what must be acknowledged before it): each pair of steps broken
FAILURES = [
    (dict(fail_send_at=1), 1, []),  # step 1: the first output never leaves
    (dict(fail_send_at=2), 1, None),  # step 1: the second output never leaves (the first may be acked)
    (dict(fail_ack_at=2), 1, None),  # step 1 -> 2: an output is sent but not acknowledged
    (dict(fail_send_at=3), 2, OUTPUTS),  # step 2: every output acked, the state never leaves
    (dict(fail_ack_at=3), 2, OUTPUTS),  # step 2 -> 3: the state is sent but not acknowledged
    (dict(fail_commit=True), 3, OUTPUTS + STATE),  # step 3: outputs and state safe, offsets not committed
]


@pytest.mark.parametrize("failure,step,acked_before", FAILURES)
def test_a_failure_stops_the_later_steps_and_a_redelivery_repairs_it(failure, step, acked_before):
    broker = Broker(**failure)
    with pytest.raises(StepFailed) as err:
        deliver(broker)
    assert err.value.step == step
    assert not broker.committed, "offsets were committed although an earlier step failed"
    if step < 3:
        assert STATE[0] not in broker.acked, "state was saved although its outputs were not all acknowledged"
    if acked_before is not None:
        assert [r for r in broker.acked if r not in acked_before] == []
        assert all(r in broker.acked for r in acked_before)
    # the injected failure really cut the run short: the commit never happened
    assert "commit" not in broker.log
    # the batch is read again (its offsets were not committed) and delivered in full this time
    retry = Broker()
    deliver(retry)
    assert retry.committed and set(OUTPUTS + STATE) <= set(retry.acked)


def test_a_completed_checkpoint_takes_no_more_outputs():
    broker = Broker()

    async def run():
        checkpoint = Checkpoint(broker, broker.commit)
        await checkpoint.complete()
        with pytest.raises(RuntimeError):
            await checkpoint.send(OUTPUTS[0])

    asyncio.run(run())
    assert broker.log == ["commit"]
