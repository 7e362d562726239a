"""Bring your own model: build, check and describe a desk's artifact (``tickscope model register``).

Inputs: a spec (JSON, models.spec plus ``architecture``: see docs/models.md) and
the weights (a safetensors state dict of the named torch module), or an artifact
already built. The checks, each a sentence on the card:

- the architecture is one an artifact may name (models.architecture), it builds
  with the spec's kwargs, and the weights fit it exactly (strict state dict);
- the spec is consistent: the feature function is known, F names for its F
  columns, lower < upper thresholds, a cooldown >= 0, a [T, F] baseline window;
- it runs: on the baseline window and on real windows of the packaged data the
  forward returns ``(score [B], attention [B, T] or None)``, finite, with
  attention non-negative and summing to 1 over T, and present exactly when the
  spec says ``attention: true``;
- it is deterministic: the same input twice gives the same bits; a window scored
  alone and inside a batch differ by less than ``BATCH_TOLERANCE`` of the larger
  threshold (the gate re-scores a window alone only within 0.1% of a threshold,
  streams.gate.CANDIDATE_MARGIN, so a larger batch effect could change decisions);
- the saved artifact loads back (by its sha256) and gives the same bits.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file as load_tensors

from tickscope.models import architecture
from tickscope.models.registry import ModelError, save
from tickscope.models.spec import DEFAULT_FEATURES, ModelSpec, SpecError, feature_function

BATCH_TOLERANCE = 1e-4  # of max(|lower|, |upper|): 10x inside the gate's 1e-3 re-scoring margin
CHECK_WINDOWS = 64  # real windows run through the model by the checks
SPEC_KEYS = ("window_t", "feature_function", "feature_names", "output", "threshold_low", "threshold_high",
             "cooldown", "attention", "baseline_rule", "target", "horizon")


class RegistrationError(ModelError):
    """An artifact that fails a check; the message names the check."""


def read_spec(path: Path) -> dict:
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegistrationError(f"spec {path} cannot be read as JSON: {exc}") from exc
    if not isinstance(spec, dict) or "architecture" not in spec:
        raise RegistrationError(f"spec {path} must be a JSON object with an 'architecture'")
    return spec


def _packaged_splits(spec: dict):
    """The packaged data's train/test windows made with the spec's feature function and T (and target, if known)."""
    from tickscope.models.dataset import TARGETS
    from tickscope.models.train import TrainConfig, build_splits, load_rows

    target = spec.get("target") if spec.get("target") in TARGETS else "log_vol_ratio"
    splits, info = build_splits(load_rows(TrainConfig()), int(spec.get("horizon", 8)), target,
                                spec.get("feature_function", DEFAULT_FEATURES), int(spec["window_t"]))
    return splits, info, list(TrainConfig.sources)


def build(spec: dict, weights: Path) -> tuple[torch.nn.Module, torch.Tensor, dict]:
    """(net with the weights, baseline [T, F], metadata) from a spec and a state dict; checks the fit."""
    try:
        net = architecture.build(spec["architecture"])
    except architecture.ArchitectureError as exc:
        raise RegistrationError(f"architecture: {exc}") from exc
    try:
        net.load_state_dict(load_tensors(str(weights)), strict=True)
    except (OSError, RuntimeError, ValueError) as exc:
        raise RegistrationError(f"weights {weights} do not fit {spec['architecture']}: {exc}") from exc
    net.eval()
    try:
        ff = feature_function(spec.get("feature_function", DEFAULT_FEATURES))
    except SpecError as exc:
        raise RegistrationError(f"spec: {exc}") from exc
    meta = {k: spec[k] for k in SPEC_KEYS if k in spec}
    meta.setdefault("feature_function", ff.name)
    meta.setdefault("feature_names", list(ff.feature_names))
    meta.setdefault("cooldown", 8)
    meta["architecture"] = spec["architecture"]
    baseline = spec.get("baseline", "training-median")
    if baseline == "training-median":
        splits, _, _ = _packaged_splits(spec)
        base = torch.from_numpy(np.median(splits["train"].windows, axis=0).astype(np.float32))
        meta["baseline_rule"] = "elementwise median of the packaged training windows"
    else:
        base = torch.tensor(baseline, dtype=torch.float32)
        meta.setdefault("baseline_rule", "given by the spec")
    return net, base, meta


def _forward(net, x: np.ndarray):
    with torch.inference_mode():
        out = net(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RegistrationError("forward must return (score [B], attention [B, T] or None)")
    return out


def check(net, baseline: torch.Tensor, meta: dict, windows: np.ndarray) -> list[str]:
    """Run the checks of the module doc; returns what passed (one line each), raises on the first failure."""
    try:
        spec = ModelSpec.from_meta(meta)
    except SpecError as exc:
        raise RegistrationError(f"spec: {exc}") from exc
    t, f = spec.window_t, len(spec.feature_names)
    if tuple(baseline.shape) != (t, f):
        raise RegistrationError(f"baseline window {tuple(baseline.shape)} is not [T={t}, F={f}]")
    x = np.concatenate([baseline.numpy()[None], windows[:CHECK_WINDOWS]]).astype(np.float32)
    score, attention = _forward(net, x)
    if tuple(score.shape) != (len(x),) or not torch.isfinite(score).all():
        raise RegistrationError(f"score must be [B={len(x)}] and finite, got {tuple(score.shape)}")
    has_attention = attention is not None
    if has_attention != spec.attention:
        raise RegistrationError(f"the spec says attention={spec.attention}, the model returns "
                                f"{'attention' if has_attention else 'None'}")
    if has_attention:
        if tuple(attention.shape) != (len(x), t) or (attention < 0).any() or \
                not torch.allclose(attention.sum(1), torch.ones(len(x)), atol=1e-5):
            raise RegistrationError("attention must be [B, T], non-negative, summing to 1 over T")
    again, _ = _forward(net, x)
    if not torch.equal(score, again):
        raise RegistrationError("not deterministic: the same input twice gave different scores")
    alone = torch.stack([_forward(net, x[i:i + 1])[0][0] for i in range(len(x))])
    worst = float((alone.double() - score.double()).abs().max())
    limit = BATCH_TOLERANCE * max(abs(v) for v in spec.thresholds)
    if worst > limit:
        raise RegistrationError(f"scores depend on the batch: a window alone and in a batch differ by {worst:.3g} "
                                f"> {limit:.3g} ({BATCH_TOLERANCE:g} of the larger threshold)")
    return [f"architecture {architecture.class_path(meta['architecture'])} built; weights fit exactly (strict)",
            f"spec consistent: T={t}, F={f} from {spec.feature_function}, thresholds {spec.thresholds}, "
            f"cooldown {spec.cooldown}",
            f"forward on the baseline and {len(x) - 1} real windows: score [B] finite; attention "
            + ("[B, T], non-negative, sums to 1" if has_attention else "None (as the spec says)"),
            f"deterministic: same input, same bits; alone vs batch differ by at most {worst:.2g} (limit {limit:.2g})"]


def describe(net, meta: dict, test, names: list[str]) -> dict:
    """The card's description of the scores on the packaged held-out windows (no skill: no known target)."""
    from tickscope.models.signal_stats import attention_report, signal_report
    from tickscope.models.train import predict

    spec = ModelSpec.from_meta(meta)
    scores, attention = predict(net, test.windows, attention=True)
    return {"signals": signal_report(scores, None, None, test.source, names, spec.thresholds, spec.cooldown),
            "attention_stats": attention_report(attention)}


def register(spec: dict, weights: Path, out_dir: Path) -> tuple[str, dict]:
    """Build, check, save by sha256 and load back; returns (version, the card's metadata)."""
    from tickscope.models.registry import load_file

    net, base, meta = build(spec, weights)
    splits, data_info, names = _packaged_splits(meta | {"window_t": spec.get("window_t")})
    meta["registration"] = {"checks": check(net, base, meta, splits["test"].windows)}
    meta.update(describe(net, meta, splits["test"], names), data=data_info)
    version = save(net, base, meta, out_dir)
    loaded = load_file(out_dir / f"{version}.safetensors")
    x = torch.from_numpy(np.ascontiguousarray(splits["test"].windows[:8]))
    with torch.inference_mode():
        if not torch.equal(loaded.net(x)[0], net(x)[0]):
            raise RegistrationError(f"artifact {version} does not load back to the same scores")
    card_meta = json.loads(json.dumps(loaded.meta))
    card_meta["registration"]["checks"].append(f"saved as {version}.safetensors and loaded back: same bits")
    return version, card_meta


def check_artifact(loaded) -> dict:
    """An artifact built elsewhere: the same checks and description, for its card (the artifact is unchanged)."""
    meta = json.loads(json.dumps(loaded.meta))
    splits, data_info, names = _packaged_splits(meta)
    checks = check(loaded.net, loaded.baseline, meta, splits["test"].windows)
    checks.append(f"loaded by its sha256 {loaded.version}: the bytes are the ones named")
    extra = {} if "skill" in meta else describe(loaded.net, meta, splits["test"], names)
    return meta | extra | {"registration": {"checks": checks}}
