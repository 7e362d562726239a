"""The pipeline's stages run in-process over a list of ticks: no broker, the same functions as the worker.

``tickscope replay --ticks`` re-runs detection this way to show the same
signals fire with the same ids; the alert calibration, the benchmarks and the
tests explain real series this way. Micro-batches of ``batch_size`` messages
go through ``SignalDetector`` exactly as the detect agent sends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tickscope.contracts.records import ArchiveRecord, DeadLetter, Signal
from tickscope.explainer.baseline_shapley import ExplainConfig
from tickscope.marketdata.feed import tick_json
from tickscope.streams.detect import Batch, Message, SignalDetector
from tickscope.streams.explain import Explaining, explain_signal

OFFLINE_TOPIC = "ticks"


@dataclass
class Detected:
    """What detection made of a list of messages."""

    signals: list[Signal] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    accepted: int = 0
    last_ts: dict[str, int] = field(default_factory=dict)  # symbol -> ts of its last accepted tick


def tick_messages(symbol: str, rows, first_offset: int = 0) -> list[Message]:
    """Messages for ``SignalDetector`` from market data rows, keyed and encoded as ``tickscope feed`` sends them."""
    key = symbol.encode()
    return [Message(key, tick_json(symbol, r), 0, first_offset + i) for i, r in enumerate(rows)]


def detect(messages: list[Message], model, cooldown: int | None = None, max_message_bytes: int = 4096,
           batch_size: int = 256, now_ms: int = 0, topic: str = OFFLINE_TOPIC) -> Detected:
    """Run the detect stage over ``messages`` in batches of ``batch_size`` (``cooldown`` None: the model's spec)."""
    detector = SignalDetector(model, cooldown, max_message_bytes, capacity=max(1, len({m.key for m in messages})))
    out = Detected()
    for start in range(0, len(messages), batch_size):
        outcome = detector.process(Batch.of(messages[start:start + batch_size], topic), now_ms)
        out.signals += outcome.signals
        out.dead_letters += outcome.dead_letters
        out.accepted += outcome.accepted
    out.last_ts = {s: detector.windows.state_of(s)[2]["last_ts"] for s in detector.windows.index}
    return out


def explain_all(signals: list[Signal], model, config: ExplainConfig = ExplainConfig()) -> list[ArchiveRecord]:
    """The archive record of each signal, as the explain stage makes it (``produced_at`` = the signal's ts)."""
    explaining = Explaining.for_model(model, config)
    return [explain_signal(s, model.net, explaining.baseline, explaining.baseline_hash, config, s.ts)
            for s in signals]


def explain_series(model, rows, symbol: str, cooldown: int | None = None) -> list[ArchiveRecord]:
    """Real archive records of one tick series: detect, then explain every signal."""
    return explain_all(detect(tick_messages(symbol, rows), model, cooldown).signals, model)
