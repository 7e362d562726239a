"""Typed, frozen records that cross a topic. Every one carries ``schema_version``.

Wire format is JSON (UTF-8), never pickle. Times on the wire are integer epoch
milliseconds, UTC.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TICK_SCHEMA_VERSION = 1
SIGNAL_SCHEMA_VERSION = 1
ARCHIVE_SCHEMA_VERSION = 1
DEAD_LETTER_SCHEMA_VERSION = 1
ALERT_SCHEMA_VERSION = 1
WALL_CLOCK_FIELDS = ("produced_at", "scored_at")  # archive-record fields a replay cannot re-create


class Record(BaseModel):
    """Base for wire records: frozen, JSON in and out."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_json(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes | str):
        return cls.model_validate_json(raw)


class Tick(Record):
    """One trade or quote: key on ``ticks`` is the symbol."""

    schema_version: int = TICK_SCHEMA_VERSION
    symbol: str
    ts: int = Field(description="event time, epoch milliseconds UTC")
    price: float = Field(gt=0)
    size: float | None = Field(None, ge=0)


class DeadLetter(Record):
    """A rejected input on ``ticks.dlq``: its original bytes, why, and where it came from."""

    schema_version: int = DEAD_LETTER_SCHEMA_VERSION
    stage: str
    reason: str
    detail: str
    original_b64: str = Field(description="the message value exactly as received, base64")
    original_key_b64: str | None = None
    source_topic: str
    source_partition: int
    source_offset: int
    rejected_at: int = Field(description="epoch milliseconds UTC")


class Signal(Record):
    """A significant model decision on ``signals``, before it is explained.

    ``window`` is the exact model input [T][F] so the explain stage needs nothing else.
    """

    schema_version: int = SIGNAL_SCHEMA_VERSION
    signal_id: str
    symbol: str
    ts: int
    price: float
    model_version: str
    score: float
    threshold: float
    direction: Literal["long", "short"]
    feature_names: list[str]
    window: list[list[float]]
    scored_at: int


class Explainer(Record):
    method: str
    params: dict
    seed: int


class ArchiveRecord(Record):
    """An explained signal on ``explanations``, the system of record. Key = signal_id."""

    schema_version: int = ARCHIVE_SCHEMA_VERSION
    signal_id: str
    symbol: str
    ts: int
    price: float
    model_version: str
    score: float = Field(description="model output being explained; its meaning is the model version's spec "
                                     "(output), e.g. forecast log forward / trailing realised volatility, centred")
    threshold: float
    direction: Literal["long", "short"]
    feature_names: list[str]
    window: list[list[float]] = Field(description="[T][F] exact model input")
    attributions: list[list[float]] = Field(description="[T][F] cell-level SHAP values of score")
    event_attributions: list[float] = Field(description="[G] SHAP values of time segments (own exact game)")
    segments: list[list[int]] = Field(description="[G] [start, stop) time-step ranges of the segments")
    feature_attributions: list[float] = Field(description="[F] SHAP values of features (own exact game)")
    base_value: float
    attention: list[float] | None = Field(description="[T] temporal attention weights, sum to 1; null for a model "
                                          "without attention (its spec says so)")
    attention_shap_spearman: float | None
    additivity_error: float
    explainer: Explainer
    scored_at: int
    produced_at: int
    quality: dict = Field(
        default_factory=dict,
        description="explanation quality numbers (additivity per level, deletion faithfulness, stability); "
        "definitions in tickscope.explainer.quality and docs/explanations.md; {} on records written before it existed",
    )


class Alert(Record):
    """A stability or explanation-drift alert on ``alerts``. Key = alert_id.

    ``alert_id`` is deterministic (detector kind, symbol, and the signal that
    tripped it), so a re-delivered explanation does not raise a second alert.
    """

    schema_version: int = ALERT_SCHEMA_VERSION
    alert_id: str
    kind: str = Field(description="e.g. attribution_drift, segment_drift, rank_change, instability, faithfulness_decay")
    symbol: str = Field(description="the symbol, or '*' for all symbols")
    started_at: int = Field(description="epoch ms UTC: ts of the first signal in the evidence that crossed")
    raised_at: int = Field(0, description="epoch ms UTC wall clock when the detector raised it")
    severity: Literal["info", "warning", "critical"]
    metric: str = Field(description="what was measured, e.g. jensen_shannon_feature_share")
    value: float
    threshold: float
    evidence: list[str] = Field(description="signal_ids the value was computed from")
    detail: dict = Field(default_factory=dict)
    model_version: str | None = None
