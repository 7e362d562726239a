"""The training reference the alert detectors compare a model version's explanations against.

The reference of a model version is what its explanations look like on the
data it was trained on: the significant training windows (beyond either
threshold, as the gate would fire them), evenly spaced, are explained exactly as the
explain stage does (``baseline_shapley.explain`` with its defaults, each seeded
from a synthetic signal id), and every registered detector summarises them
into the keys it reads (``Detector.calibrate``). It is deterministic: the same
artifact gives the same JSON. It ships for the default model as
``models/cards/<version>.reference.json``; references of other versions are
written to ``$TICKSCOPE_DATA_DIR/models``. ``tickscope calibrate-alerts`` writes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tickscope.contracts.ids import seed_for
from tickscope.detectors.protocol import CalibrationSample, registered
from tickscope.explainer.baseline_shapley import explain
from tickscope.models.card import CARDS_DIR

REFERENCE_SCHEMA_VERSION = 1
DEFAULT_SAMPLE = 400  # explained training windows (a few ms each)


def reference_path(version: str, data_dir: Path | None = None) -> Path:
    """Where the reference of ``version`` lives: the package cards, else ``data_dir/models``."""
    packaged = CARDS_DIR / f"{version}.reference.json"
    if packaged.exists() or data_dir is None:
        return packaged
    return Path(data_dir) / "models" / f"{version}.reference.json"


def reference_for(model, data_dir: Path | None = None) -> dict:
    """The model version's reference; built (a few seconds) and saved under data_dir when missing."""
    path = reference_path(model.version, data_dir)
    if path.exists():
        ref = json.loads(path.read_text(encoding="utf-8"))
        if ref.get("model_version") == model.version:
            return ref
    ref = build_reference(model)
    if data_dir is not None:
        save_reference(ref, Path(data_dir) / "models" / f"{model.version}.reference.json")
    return ref


def save_reference(ref: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(ref, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def significant_training_windows(model, sample: int) -> np.ndarray:
    """Up to ``sample`` windows of the training split beyond either threshold (as the gate would fire them),
    evenly spaced, in data order. The windows are the model's own: its spec's feature function and T, on the
    sources it was trained on (the packaged default sources for a model that does not say)."""
    from tickscope.models.train import TrainConfig, build_splits, load_rows, predict

    sources = tuple(model.meta.get("data", {})) or TrainConfig.sources
    spec = model.spec
    splits, _ = build_splits(load_rows(TrainConfig(sources=sources)), int(model.meta.get("horizon", 8)),
                             features=spec.feature_function, window_t=spec.window_t)
    windows = splits["train"].windows
    scores = predict(model.net, windows)
    lower, upper = model.thresholds
    picked = windows[(scores > upper) | (scores < lower)]
    if len(picked) > sample:
        picked = picked[np.linspace(0, len(picked) - 1, sample).round().astype(int)]
    return picked


def calibration_sample(model, sample: int = DEFAULT_SAMPLE) -> CalibrationSample:
    """The significant training windows of ``model``, each explained as the explain stage would."""
    windows = significant_training_windows(model, sample)
    base = model.baseline.numpy()
    explanations = [explain(model.net, w, base, seed_for(f"reference|{model.version}|{i}"))
                    for i, w in enumerate(windows)]
    return CalibrationSample(windows, explanations, list(model.feature_names))


def build_reference(model, sample: int = DEFAULT_SAMPLE) -> dict:
    """The reference JSON: a header, then the keys each registered detector calibrates."""
    calibration = calibration_sample(model, sample)
    ref = {
        "schema_version": REFERENCE_SCHEMA_VERSION,
        "model_version": model.version,
        "method": "explained significant training windows (beyond either threshold), evenly spaced; "
                  "tickscope.explainer defaults",
        "n": len(calibration.explanations),
        "feature_names": calibration.feature_names,
    }
    for detector in registered():
        ref.update(detector.calibrate(calibration))
    return ref
