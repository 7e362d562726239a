"""Model artifacts named by the sha256 of their bytes, never overwritten.

An artifact is one safetensors file: the weights, the explainer baseline
window (``explain.baseline``), and string metadata: the architecture
(models.architecture), the spec (models.spec: window length, feature function,
output, thresholds, cooldown), training data and metrics. safetensors holds no
code, so loading runs nothing from the artifact (unlike pickle); the class it
names is installed code, and only what ``models.architecture`` allows.

Search path: the artifacts shipped in this package, then
``$TICKSCOPE_DATA_DIR/models``. ``DEFAULT`` in the package names the default.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from tickscope.models.architecture import ArchitectureError, architecture_of, build, legacy_architecture
from tickscope.models.lstm import AttentionLSTM
from tickscope.models.spec import FeatureFunction, ModelSpec, SpecError

ARTIFACT_SCHEMA_VERSION = 2  # 1: an AttentionLSTM with one symmetric threshold (read, never written)
PACKAGE_DIR = Path(__file__).resolve().parent / "artifacts"
BASELINE_KEY = "explain.baseline"


class ModelError(Exception):
    """A model artifact that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class LoadedModel:
    version: str
    net: nn.Module  # forward: [B, T, F] -> (score [B], attention [B, T] or None)
    meta: dict
    baseline: torch.Tensor  # [T, F] reference window for explanations

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec.from_meta(self.meta)

    @property
    def threshold(self) -> float:
        """The upper threshold (a symmetric model's one threshold)."""
        return self.thresholds[1]

    @property
    def thresholds(self) -> tuple[float, float]:
        """(lower, upper): a score above upper is a long signal, below lower a short one."""
        if "threshold_low" in self.meta:
            return float(self.meta["threshold_low"]), float(self.meta["threshold_high"])
        return -float(self.meta["threshold"]), float(self.meta["threshold"])

    def signal_threshold(self, direction: str) -> float:
        """The threshold a signal's record carries: the side it crossed; a symmetric model's one threshold
        (positive for both sides, as records of such models have always said)."""
        if "threshold_low" not in self.meta:
            return float(self.meta["threshold"])
        return self.thresholds[1] if direction == "long" else self.thresholds[0]

    @property
    def feature_names(self) -> list[str]:
        return list(self.meta["feature_names"])

    @property
    def window_t(self) -> int:
        return int(self.meta["window_t"])

    @property
    def features(self) -> FeatureFunction:
        """The feature function the model was trained on (the detect stage computes rows with it)."""
        return self.spec.features

    @property
    def history(self) -> int:
        """Ticks kept per symbol: T feature rows' worth."""
        return self.spec.history

    @property
    def cooldown(self) -> int:
        """The spec's cooldown in ticks (``TICKSCOPE_SIGNAL_COOLDOWN_TICKS`` overrides it when set)."""
        return self.spec.cooldown

    @property
    def has_attention(self) -> bool:
        return self.spec.attention

    @property
    def architecture(self) -> dict:
        return architecture_of(self.meta)


def search_dirs() -> list[Path]:
    data_dir = Path(os.environ.get("TICKSCOPE_DATA_DIR", "./data"))
    return [PACKAGE_DIR, data_dir / "models"]


def default_version() -> str:
    path = PACKAGE_DIR / "DEFAULT"
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ModelError(f"no default model: cannot read {path} ({exc.strerror}); pass a version") from exc


def set_default(version: str) -> None:
    """Make ``version`` the package default; it must already be loadable from the search path."""
    artifact_path(version)
    tmp = PACKAGE_DIR / "DEFAULT.tmp"
    tmp.write_text(version + "\n")
    tmp.replace(PACKAGE_DIR / "DEFAULT")


def list_versions() -> list[tuple[str, Path]]:
    """(version, path) of every artifact in the search path, package first, sorted by name."""
    found = {}
    for d in search_dirs():
        for p in sorted(d.glob("*.safetensors")) if d.is_dir() else []:
            found.setdefault(p.stem, p)
    return list(found.items())


def artifact_path(version: str) -> Path:
    if not version or any(c not in "0123456789abcdef" for c in version) or len(version) != 64:
        raise ModelError(f"model version {version!r} is not a sha256 (64 lowercase hex digits)")
    for d in search_dirs():
        p = d / f"{version}.safetensors"
        if p.exists():
            return p
    raise ModelError(f"model version {version} not found in {', '.join(str(d) for d in search_dirs())}")


def serialize(net: nn.Module, baseline: torch.Tensor, meta: dict) -> bytes:
    """Deterministic bytes for an artifact (sorted tensors, sorted JSON metadata).

    ``meta["architecture"]`` names the module class and its constructor arguments; an AttentionLSTM
    without one is recorded as such."""
    tensors = {k: v.detach().contiguous().clone() for k, v in sorted(net.state_dict().items())}
    tensors[BASELINE_KEY] = baseline.detach().float().contiguous().clone()
    arch = meta.get("architecture")
    if arch is None:
        if not isinstance(net, AttentionLSTM):
            raise ModelError("meta['architecture'] is required for a model other than the AttentionLSTM")
        arch = legacy_architecture({"n_features": net.n_features, "hidden": net.hidden})
    full = dict(meta, schema_version=ARTIFACT_SCHEMA_VERSION, architecture=arch, n_features=int(baseline.shape[-1]))
    if hasattr(net, "hidden"):
        full["hidden"] = int(net.hidden)
    return st_save(tensors, metadata={"tickscope": json.dumps(full, sort_keys=True)})


def save(net: nn.Module, baseline: torch.Tensor, meta: dict, directory: Path) -> str:
    """Write the artifact as <sha256>.safetensors (never overwriting) and return the version."""
    blob = serialize(net, baseline, meta)
    version = hashlib.sha256(blob).hexdigest()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{version}.safetensors"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(blob)
        tmp.replace(path)
    return version


def _read_metadata(blob: bytes, path: Path) -> dict:
    try:
        header_len = int.from_bytes(blob[:8], "little")
        header = json.loads(blob[8 : 8 + header_len])
        return json.loads(header["__metadata__"]["tickscope"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"model artifact {path} is corrupt or truncated: unreadable header ({exc})") from exc


def read_meta(path: Path) -> dict:
    """Metadata of an artifact file without loading its tensors (for cards and model-info)."""
    try:
        blob = Path(path).read_bytes()
    except OSError as exc:
        raise ModelError(f"model artifact {path} cannot be read ({exc.strerror})") from exc
    return _read_metadata(blob, Path(path))


def load(version: str | None = None) -> LoadedModel:
    """Load a model by version (sha256) from the search path; None loads the shipped default."""
    version = version or default_version()
    return _load(artifact_path(version), version)


def load_file(path: Path) -> LoadedModel:
    """Load the artifact at ``path``, which must be named by its sha256 (``<version>.safetensors``)."""
    path = Path(path)
    try:
        return _load(path, path.stem)
    except OSError as exc:
        raise ModelError(f"model artifact {path} cannot be read ({exc.strerror})") from exc


def _load(path: Path, version: str) -> LoadedModel:
    blob = path.read_bytes()
    actual = hashlib.sha256(blob).hexdigest()
    if actual != version:
        raise ModelError(f"model artifact {path} is corrupt: its sha256 is {actual}, not {version}")
    meta = _read_metadata(blob, path)
    if int(meta.get("schema_version", 0)) > ARTIFACT_SCHEMA_VERSION:
        raise ModelError(
            f"model artifact {path} has schema_version {meta['schema_version']}, newer than this "
            f"tickscope understands ({ARTIFACT_SCHEMA_VERSION}); upgrade tickscope"
        )
    try:
        tensors = st_load(blob)
    except SafetensorError as exc:
        raise ModelError(f"model artifact {path} is corrupt: {exc}") from exc
    try:
        spec = ModelSpec.from_meta(meta)
        arch = architecture_of(meta)
        net = build(arch)
    except (ArchitectureError, SpecError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model artifact {path}: {exc}") from exc
    try:
        baseline = tensors.pop(BASELINE_KEY)
        net.load_state_dict(tensors, strict=True)
    except (KeyError, ValueError, RuntimeError) as exc:
        raise ModelError(f"model artifact {path} does not match its architecture "
                         f"{arch.get('class') or arch.get('entry_point')}: {exc}") from exc
    if tuple(baseline.shape) != (spec.window_t, len(spec.feature_names)):
        raise ModelError(f"model artifact {path}: baseline window {tuple(baseline.shape)} is not "
                         f"[T={spec.window_t}, F={len(spec.feature_names)}]")
    net.eval()
    return LoadedModel(version=version, net=net, meta=meta, baseline=baseline)
