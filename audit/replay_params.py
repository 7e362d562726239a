"""Which archived explainer parameters replay will run: an allowlist with bounds, checked before any model call.

An archived record names its own explainer parameters, and the archive's insider
can write them. Replay therefore runs a record only if every parameter is one
``ExplainConfig`` knows, inside the bounds below, and the whole explanation stays
within ``MAX_MODEL_ROWS`` model evaluations (computed from the parameters and the
window's shape, before anything is allocated). Anything else is reported as not
reproducible, with the reason, and never run: ``segments=40`` would ask for 2**40
coalitions.

Bounds (the worker's defaults in brackets): segments 1..12 [8], cell_permutations
0..16 [2], threads 1 [1] (replay runs one thread per job; part of the bit-exact
contract), deletion_k up to 4 sizes each 1..T*F [(8, 32)], deletion_draws 0..32
[4], stability_perturbations 0..8 [2], stability_eps finite in [0, 1] [0.01];
windows of at most 256 steps and 8 features.
"""

from __future__ import annotations

import math
import re

from tickscope.explainer.baseline_shapley import ExplainConfig

INT_BOUNDS = {"segments": (1, 12), "cell_permutations": (0, 16), "threads": (1, 1), "deletion_draws": (0, 32),
              "stability_perturbations": (0, 8)}
MAX_DELETION_SIZES = 4
MAX_STEPS, MAX_FEATURES = 256, 8
MAX_MODEL_ROWS = 20_000  # the default configuration needs ~840 per record
_HEX64 = re.compile(r"[0-9a-f]{64}")


class ReplayError(Exception):
    """A record that cannot be replayed at all; the message names it and says why."""


class NotReproducible(ReplayError):
    """A record whose parameters lie outside what replay will run; it is reported, never run."""


def model_rows(t: int, f: int, config: ExplainConfig) -> int:
    """Model evaluations of one explanation (the explainer's layout, plus the deletion test's second pass)."""
    return (2**f + (2**config.segments - 2) + config.cell_permutations * (t * f - 1)
            + config.stability_perturbations * (2**f - 1) + 2 * len(config.deletion_k) * config.deletion_draws
            + len(config.deletion_k))


def explain_config(params, t: int, f: int) -> tuple[ExplainConfig, str]:
    """ExplainConfig and baseline hash from a record's ``explainer.params``, or ``NotReproducible`` saying why."""
    if not isinstance(params, dict):
        raise NotReproducible(f"explainer params are a {type(params).__name__}, not an object")
    params = dict(params)
    baseline_hash = params.pop("baseline_sha256", None)
    if not isinstance(baseline_hash, str) or not _HEX64.fullmatch(baseline_hash):
        raise NotReproducible("explainer params lack a baseline_sha256 (64 hex digits)")
    unknown = set(params) - set(ExplainConfig.__dataclass_fields__)
    if unknown:
        raise NotReproducible(f"explainer params {sorted(unknown)[:5]} are not on the replay allowlist")
    if not (1 <= t <= MAX_STEPS and 1 <= f <= MAX_FEATURES):
        raise NotReproducible(f"a {t} x {f} window is outside the replay bounds ({MAX_STEPS} x {MAX_FEATURES})")
    for name, (lo, hi) in INT_BOUNDS.items():
        if name in params:
            _int_in(name, params[name], lo, hi)
    if "deletion_k" in params:
        ks = params["deletion_k"]
        if not isinstance(ks, list) or len(ks) > MAX_DELETION_SIZES:
            raise NotReproducible(f"deletion_k must be a list of at most {MAX_DELETION_SIZES} sizes")
        for k in ks:
            _int_in("deletion_k", k, 1, t * f)
        params["deletion_k"] = tuple(ks)
    if "stability_eps" in params:
        eps = params["stability_eps"]
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or not 0 <= eps <= 1:
            raise NotReproducible(f"stability_eps {str(eps)[:40]} is outside the replay bounds [0, 1]")
        params["stability_eps"] = float(eps)
    config = ExplainConfig(**params)
    rows = model_rows(t, f, config)
    if rows > MAX_MODEL_ROWS:
        raise NotReproducible(f"these parameters need {rows:,} model evaluations per record, more than replay "
                              f"runs ({MAX_MODEL_ROWS:,})")
    return config, baseline_hash


def _int_in(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise NotReproducible(f"explainer parameter {name}={str(value)[:40]} is outside the replay bounds "
                              f"{lo}..{hi}")
