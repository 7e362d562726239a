"""Quality numbers carried by every explanation: additivity, deletion faithfulness, stability.

All three are cheap enough to compute for every signal (see docs/explanations.md
for the definitions, the measured overhead and how to read them):

- additivity: ``|base_value + sum(attributions) - score|`` per level (the
  top-level ``additivity_error`` of the archive record is the cell level
  against the signal's own score).
- deletion faithfulness: with ``D = f(x) - f(b)`` and ``s = sign(D)``, the
  normalised drop of removing a set S of cells (setting them to the baseline)
  is ``drop(S) = s * (f(x) - f(x with S := b)) / |D|``. For each k we compare
  the k cells with the largest ``s * phi_cell`` ("top-k") with k cells drawn
  uniformly at random (``deletion_draws`` draws, seeded from the signal id):
  ``faithfulness[k] = drop(top-k) - mean drop(random k)``. 1 would mean that
  removing the top-k cells takes away the whole deviation from the baseline
  and random ones nothing; 0 means the ranking is no better than chance;
  negative is worse than chance.
- stability (local Lipschitz estimate, Alvarez-Melis & Jaakkola 2018): with
  P seeded perturbations ``delta_p = eps * N(0, I)`` of the window (eps in
  feature units, per cell), ``max_p ||phi_F(x + delta_p) - phi_F(x)||_2 /
  ||delta_p||_2`` over the exact feature-level attributions ``phi_F`` (score
  units per feature unit). For a model linear in its input this is the norm
  of the weight block hit by ``delta`` (baseline Shapley values of a linear
  model move linearly with x), not zero; what it flags is an explanation that
  jumps under a change far smaller than the features' own noise.
"""

from __future__ import annotations

import numpy as np

from tickscope.stats import spearman

DELETION_STREAM = 1  # np.random.default_rng([seed, stream]): independent of the cell permutations
STABILITY_STREAM = 2


def stability_perturbations(shape: tuple[int, int], count: int, eps: float, seed: int) -> np.ndarray:
    """[count, T, F] float32 perturbations ``eps * N(0, 1)`` per cell, seeded from the signal."""
    rng = np.random.default_rng([seed, STABILITY_STREAM])
    return (eps * rng.standard_normal((count, *shape))).astype(np.float32)


def stability(features: np.ndarray, perturbed_features: np.ndarray, deltas: np.ndarray) -> float | None:
    """max_p ||phi(x + delta_p) - phi(x)||_2 / ||delta_p||_2; None without perturbations.

    ``deltas`` must be the perturbations as actually applied (``(x + d).astype(f32) - x``).
    """
    if len(deltas) == 0:
        return None
    num = np.linalg.norm(np.asarray(perturbed_features, dtype=np.float64) - features[None], axis=1)
    den = np.linalg.norm(np.asarray(deltas, dtype=np.float64).reshape(len(deltas), -1), axis=1)
    ok = den > 0
    return float(np.max(num[ok] / den[ok])) if ok.any() else None


def direction(base_value: float, model_value: float) -> float:
    return 1.0 if model_value >= base_value else -1.0


def top_cells(cells: np.ndarray, k: int, sign: float) -> np.ndarray:
    """Flat indices of the k cells with the largest ``sign * phi`` (ties: lower index first)."""
    return np.argsort(-sign * cells.reshape(-1), kind="stable")[:k]


def random_cells(n_cells: int, ks: tuple[int, ...], draws: int, seed: int) -> list[list[np.ndarray]]:
    """For each k, ``draws`` uniformly random k-subsets of the cells, seeded from the signal."""
    rng = np.random.default_rng([seed, DELETION_STREAM])
    return [[rng.choice(n_cells, size=k, replace=False) for _ in range(draws)] for k in ks]



def deletion_inputs(x: np.ndarray, b: np.ndarray, sets: list[np.ndarray]) -> np.ndarray:
    """[len(sets), T, F]: the window with each set of cells replaced by the baseline."""
    out = np.repeat(x[None].astype(np.float32), len(sets), axis=0).reshape(len(sets), -1)
    flat_b = b.reshape(-1).astype(np.float32)
    for i, s in enumerate(sets):
        out[i, s] = flat_b[s]
    return out.reshape(len(sets), *x.shape)


def deletion_metrics(f_x: float, f_b: float, deleted_scores: np.ndarray, ks: tuple[int, ...],
                     draws: int) -> dict:
    """Normalised drops from the scores of the deletion inputs (per k: the top-k set, then the random sets);
    see the module doc."""
    d = f_x - f_b
    if not np.isfinite(d) or abs(d) <= 1e-9 * max(1.0, abs(f_x)):
        return {"deletion_k": list(ks), "deletion_scale": abs(d) if np.isfinite(d) else None, "deletion_top": None,
                "deletion_random": None, "faithfulness": None}
    sign = 1.0 if d >= 0 else -1.0
    drops = sign * (f_x - np.asarray(deleted_scores, dtype=np.float64)) / abs(d)
    drops = drops.reshape(len(ks), 1 + draws)
    top = drops[:, 0]
    rand = drops[:, 1:].mean(axis=1) if draws else np.full(len(ks), np.nan)
    return {
        "deletion_k": list(ks),
        "deletion_scale": abs(d),
        "deletion_top": [float(v) for v in top],
        "deletion_random": [float(v) for v in rand] if draws else None,
        "faithfulness": [float(v) for v in top - rand] if draws else None,
    }


def attention_agreement(attention: np.ndarray | None, cells: np.ndarray) -> float | None:
    """Spearman rank correlation of attention[t] with |sum_f SHAP[t, f]|; None if undefined or no attention."""
    if attention is None:
        return None
    per_step = np.abs(cells.sum(axis=1))
    if np.ptp(attention) == 0 or np.ptp(per_step) == 0:
        return None
    return spearman(attention, per_step)


def additivity_error(base_value: float, cells: np.ndarray, score: float) -> float:
    """|base_value + sum(attributions) - score|, in score units."""
    return float(abs(base_value + float(np.sum(cells)) - score))
