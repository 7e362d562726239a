"""Fixtures of the stages' unit tests."""

from __future__ import annotations

import pytest

from tickscope.marketdata.feed import tick_json
from tickscope.marketdata.sources import load_source
from tickscope.streams.detect import Batch, Message, SignalDetector


def messages(symbol: str, rows, start: int = 0, partition: int = 0) -> list[Message]:
    """Tick messages of ``rows`` as ``tickscope feed`` sends them, at offsets start, start + 1, ..."""
    return [Message(symbol.encode(), tick_json(symbol, r), partition, start + i) for i, r in enumerate(rows)]


def run(detector: SignalDetector, msgs: list[Message], size: int, now_ms: int = 1) -> list:
    """The detector over ``msgs`` in batches of ``size``: one outcome per batch."""
    return [detector.process(Batch.of(msgs[i:i + size]), now_ms) for i in range(0, len(msgs), size)]


@pytest.fixture(scope="session")
def detector_run(model):
    """The detect stage over 1,500 real EURUSD ticks with one broken message at 700, in batches of 256."""
    detector = SignalDetector(model, cooldown_ticks=8, max_message_bytes=4096)
    msgs = messages("EURUSD", load_source("eurusd")[:1500])
    msgs.insert(700, Message(b"EURUSD", b"{broken", 0, 700))
    msgs = [m._replace(offset=i) for i, m in enumerate(msgs)]
    return model, detector, run(detector, msgs, 256)
