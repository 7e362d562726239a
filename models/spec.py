"""A model version's spec: everything the pipeline needs to serve a model besides its weights.

Stored as JSON in the artifact's metadata (models.registry), read back as ``ModelSpec``:

- ``window_t``: T, the time steps of one model input [T][F].
- ``feature_function``: the name of the function that turns a tick's trailing
  ``row_span`` prices (and sizes) into its feature row [F] (``FEATURE_FUNCTIONS``,
  or an entry point of the group ``tickscope.features``). The detect stage keeps
  ``history = T + row_span - 1`` ticks per symbol; training calls the same function.
- ``feature_names``: the F column names, as the feature function makes them.
- ``output``: what the score means, in words and units (shown on cards and the dashboard).
- ``threshold_low`` / ``threshold_high``: a score above the upper one is a ``long``
  signal, below the lower one a ``short`` one. Artifacts written before two-sided
  thresholds carry one ``threshold`` t, read as (-t, t).
- ``cooldown``: ticks a symbol stays quiet after a signal (``DEFAULT_COOLDOWN`` when absent).
- the baseline window: the [T][F] reference the explainer compares with, a tensor of
  the artifact; ``baseline_rule`` says how it was chosen.
- ``attention``: whether the model returns attention weights (False: the record's
  attention fields are null).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Callable

import numpy as np

from tickscope.features.window import FEATURE_NAMES, ROW_SPAN, rows_from_price_windows

FEATURES_GROUP = "tickscope.features"
DEFAULT_FEATURES = "tickscope.window/v1"
DEFAULT_COOLDOWN = 8  # ticks; the cooldown of artifacts that do not record one


class SpecError(ValueError):
    """A spec the pipeline cannot serve; the message names the field and why."""


@dataclass(frozen=True)
class FeatureFunction:
    """``rows(price_windows [n, row_span], size_windows [n, row_span] or None) -> [n, F] float32``: row i
    depends on input row i only, so a row's bits do not depend on how many rows are computed together."""

    name: str
    rows: Callable[[np.ndarray, np.ndarray | None], np.ndarray]
    row_span: int
    feature_names: tuple[str, ...]


FEATURE_FUNCTIONS = {
    DEFAULT_FEATURES: FeatureFunction(DEFAULT_FEATURES, rows_from_price_windows, ROW_SPAN, FEATURE_NAMES),
}


def feature_function(name: str) -> FeatureFunction:
    """The feature function of this name: tickscope's own, else an installed entry point."""
    if name in FEATURE_FUNCTIONS:
        return FEATURE_FUNCTIONS[name]
    for ep in entry_points(group=FEATURES_GROUP):
        if ep.name == name:
            found = ep.load()
            if not isinstance(found, FeatureFunction):
                raise SpecError(f"entry point {name!r} of {FEATURES_GROUP!r} is not a FeatureFunction")
            return found
    raise SpecError(f"unknown feature function {name!r}; known: {sorted(FEATURE_FUNCTIONS)} and the entry points "
                    f"of {FEATURES_GROUP!r}")


def feature_rows(ff: FeatureFunction, prices, sizes) -> np.ndarray:
    """Feature rows [n - row_span + 1, F] of every tick with ``row_span`` prices behind it (training, restores)."""
    prices = np.asarray(prices, dtype=np.float64)
    if len(prices) < ff.row_span:
        return np.zeros((0, len(ff.feature_names)), dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(prices, ff.row_span)
    size_windows = None
    if sizes is not None:
        size_windows = np.lib.stride_tricks.sliding_window_view(np.asarray(sizes, dtype=np.float64), ff.row_span)
    return ff.rows(windows, size_windows)


@dataclass(frozen=True)
class ModelSpec:
    window_t: int
    feature_function: str
    feature_names: tuple[str, ...]
    output: str
    thresholds: tuple[float, float]  # (lower, upper)
    two_sided: bool  # False: an old artifact's one symmetric threshold (records carry it positive on both sides)
    cooldown: int
    baseline_rule: str
    attention: bool

    @property
    def features(self) -> FeatureFunction:
        return feature_function(self.feature_function)

    @property
    def history(self) -> int:
        """Ticks per symbol the detect stage keeps: enough for T feature rows."""
        return self.window_t + self.features.row_span - 1

    @classmethod
    def from_meta(cls, meta: dict) -> "ModelSpec":
        try:
            two_sided = "threshold_low" in meta
            thresholds = ((float(meta["threshold_low"]), float(meta["threshold_high"])) if two_sided
                          else (-float(meta["threshold"]), float(meta["threshold"])))
            spec = cls(
                window_t=int(meta["window_t"]),
                feature_function=str(meta.get("feature_function", DEFAULT_FEATURES)),
                feature_names=tuple(str(n) for n in meta["feature_names"]),
                output=str(meta.get("output") or meta.get("score_units") or "not stated"),
                thresholds=thresholds,
                two_sided=two_sided,
                cooldown=int(meta.get("cooldown", DEFAULT_COOLDOWN)),
                baseline_rule=str(meta.get("baseline_rule", "not stated")),
                attention=bool(meta.get("attention", True)),  # artifacts before this field: the AttentionLSTM
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"model spec incomplete or malformed: {type(exc).__name__}: {exc}") from exc
        spec.check()
        return spec

    def check(self) -> None:
        """The spec's own consistency (the weights are checked by ``tickscope model register``)."""
        if self.window_t < 1:
            raise SpecError(f"window_t must be at least 1, not {self.window_t}")
        ff = self.features
        if len(self.feature_names) != len(ff.feature_names):
            raise SpecError(f"{len(self.feature_names)} feature names for the feature function {ff.name!r}, "
                            f"which makes {len(ff.feature_names)}")
        lower, upper = self.thresholds
        if not (np.isfinite(lower) and np.isfinite(upper) and lower < upper):
            raise SpecError(f"thresholds must be finite with lower < upper, not ({lower}, {upper})")
        if self.cooldown < 0:
            raise SpecError(f"cooldown must be >= 0 ticks, not {self.cooldown}")

    def signal_threshold(self, direction: str) -> float:
        """What a signal's record carries: the side crossed; an old symmetric model's one (positive) threshold."""
        if not self.two_sided:
            return self.thresholds[1]
        return self.thresholds[1] if direction == "long" else self.thresholds[0]


def spec_meta(window_t: int, feature_names, output: str, thresholds: tuple[float, float], cooldown: int,
              baseline_rule: str, attention: bool, feature_function_name: str = DEFAULT_FEATURES) -> dict:
    """The spec as artifact metadata keys (the inverse of ``ModelSpec.from_meta``)."""
    return {"window_t": int(window_t), "feature_function": feature_function_name,
            "feature_names": list(feature_names), "output": output, "threshold_low": float(thresholds[0]),
            "threshold_high": float(thresholds[1]), "cooldown": int(cooldown), "baseline_rule": baseline_rule,
            "attention": bool(attention)}
