"""The contract every alert detector keeps, and the registry the alert stage runs.

A detector watches the explanations of one symbol (or of every symbol, key
``'*'``) and decides when what drives the model has changed. It is pure: no
Kafka, no clock, no model; its state is what it has observed.

Adding a detector: a module in ``tickscope.detectors`` with a class that has
the members of ``Detector``, decorated with ``@register`` and imported in
``tickscope/detectors/__init__.py``; its thresholds as ``alert_<name>`` fields
of ``tickscope.settings.Settings`` (named in ``params``); its section of
docs/alerts.md. The alert stage, the reference builder
(``tickscope.detectors.reference``) and the contract suite
(tests/unit/detectors/test_detector_contract.py) take it from the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import numpy as np

from tickscope.contracts.records import ArchiveRecord
from tickscope.settings import Settings

_PREFIX = "alert_"
_NOT_PARAMS = ("alert_enabled",)


@dataclass(frozen=True)
class Finding:
    """A detector's decision to raise an alert on the explanation it has just observed."""

    metric: str  # what was measured, e.g. jensen_shannon_feature_share
    value: float  # the measured value, in the detector's units
    threshold: float
    span: int  # how many of the key's latest signals the value rests on: the alert's evidence
    detail: dict = field(default_factory=dict)
    severity: str | None = None  # None: "critical" at >= 2x the threshold, else "warning"


@dataclass(frozen=True)
class CalibrationSample:
    """What a model version's explanations look like on its training data (``tickscope.detectors.reference``)."""

    windows: np.ndarray  # [N, T, F] significant training windows
    explanations: list  # [N] tickscope.explainer.baseline_shapley.Explanation
    feature_names: list[str]


class AlertParams(Mapping):
    """Every ``TICKSCOPE_ALERT_*`` threshold by its name without the prefix; units and defaults in Settings.

    ``AlertParams(window_signals=2)`` overrides one default; an unknown name is an error.
    """

    def __init__(self, **overrides: float):
        defaults = {name[len(_PREFIX):]: f.default for name, f in Settings.model_fields.items()
                    if name.startswith(_PREFIX) and name not in _NOT_PARAMS}
        unknown = sorted(set(overrides) - set(defaults))
        if unknown:
            raise ValueError(f"unknown alert parameter(s) {unknown}; known: {sorted(defaults)}")
        self._values = {**defaults, **overrides}

    @classmethod
    def from_settings(cls, settings: Settings) -> "AlertParams":
        return cls(**{name: getattr(settings, _PREFIX + name) for name in cls()})

    def __getitem__(self, name: str):
        return self._values[name]

    def __getattr__(self, name: str):
        try:
            return self.__dict__["_values"][name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class Detector(Protocol):
    """One alert kind. ``observe`` is called once per new explanation, in the order they arrive."""

    kind: ClassVar[str]  # the Alert.kind it raises
    params: ClassVar[tuple[str, ...]]  # the AlertParams it reads
    symbol_only: ClassVar[bool]  # True: run per symbol only, never for '*'

    def __init__(self, reference: dict, params: AlertParams) -> None: ...

    def observe(self, record: ArchiveRecord) -> list[Finding]:
        """The alerts this explanation raises (usually none)."""

    def gauges(self) -> dict[str, float]:
        """The latest value of each watched statistic, by name, for the Prometheus gauges."""

    def state(self) -> dict:
        """Everything ``observe`` depends on, as plain JSON: what the alert stage's changelog saves."""

    def restore(self, state: dict) -> None:
        """Continue exactly where the detector that produced ``state`` stopped."""

    @classmethod
    def calibrate(cls, sample: CalibrationSample) -> dict:
        """The keys of the model version's reference that this detector reads."""


REGISTRY: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    """Add a detector class to the registry (once per kind)."""
    if cls.kind in REGISTRY:
        raise ValueError(f"a detector of kind {cls.kind!r} is already registered")
    REGISTRY[cls.kind] = cls
    return cls


def registered() -> list[type[Detector]]:
    """Every registered detector, in registration order (the order their alerts are raised in)."""
    import tickscope.detectors  # noqa: F401 - importing the package registers the shipped detectors

    return list(REGISTRY.values())
