"""Fixtures of the stages' unit tests."""

from __future__ import annotations

import pytest

from tickscope.contracts.dead_letters import Source
from tickscope.marketdata.feed import tick_json
from tickscope.marketdata.sources import load_source
from tickscope.streams.detect import Message, SignalDetector


@pytest.fixture(scope="session")
def detector_run(model):
    """The detect stage over 1,500 real EURUSD ticks with one broken message at 700, in micro-batches of 256."""
    detector = SignalDetector(model, cooldown_ticks=8, max_message_bytes=4096)
    values = [tick_json("EURUSD", r) for r in load_source("eurusd")[:1500]]
    values.insert(700, b"{broken")
    msgs = [Message(b"EURUSD", v, Source("ticks", 0, i)) for i, v in enumerate(values)]
    outcomes = [detector.process(msgs[i : i + 256], now_ms=1) for i in range(0, len(msgs), 256)]
    return model, detector, outcomes
