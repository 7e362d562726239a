"""Stage ``explain``: SHAP attributions of a signal's score at three levels, plus attention.

All three levels explain the same quantity, ``f(window) - f(baseline)``,
where f is the model's score and the baseline is the reference window shipped
with the model version (the element-wise median of training windows; see
``baseline_for``). They are Shapley values of three games with the same value
function ``v(S) = f(x_S, b_rest)`` ("baseline Shapley", Sundararajan & Najmi,
ICML 2020), differing only in who the players are, so each level sums to
score - base:

- feature level: players are the F features (whole columns); exact, by
  enumerating all 2^F coalitions.
- event level: players are G contiguous time segments (T/G steps each);
  exact, by enumerating all 2^G coalitions.
- cell level [T][F]: players are single cells; 2^(T*F) coalitions cannot be
  enumerated, so the values are estimated by antithetic permutation sampling
  (Castro et al. 2009; Mitchell et al. 2022), seeded from the signal id. Each
  permutation's marginal contributions telescope to f(x) - f(b), so the
  estimate is exactly additive whatever the sampling noise.

Evaluation: every coalition input of one explanation (plus the stability
rows, see ``streams.quality``) is evaluated in one batched forward pass with
shapes fixed by the config alone, so a replay on the same model version and
thread count is bit-identical. Rows shared between games (the all-off and
all-on coalitions, the last step of every permutation) are evaluated once,
so every game telescopes between the very same f(b) and f(x). The deletion
test needs one small second pass (its inputs depend on the cell values).

See docs/explanations.md for the full account.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from math import factorial
from typing import NamedTuple

import numpy as np
import torch
from scipy.stats import spearmanr

from streams import quality as q

STAGE_ID = "explain"
METHOD = "tickscope.baseline-shapley/v2"


@dataclass(frozen=True)
class ExplainConfig:
    """Explainer parameters; recorded in every archive record."""

    segments: int = 8  # G, event-level players
    cell_permutations: int = 2  # antithetic: pairs of a permutation and its reverse (cell level is an estimate)
    threads: int = 1  # torch intra-op threads; part of the bit-exact replay contract
    deletion_k: tuple[int, ...] = (8, 32)  # cells removed in the deletion test (quality)
    deletion_draws: int = 4  # random k-subsets compared with the top-k
    stability_perturbations: int = 2  # seeded perturbations for the Lipschitz estimate
    stability_eps: float = 0.01  # per-cell std of the perturbation, feature units

    def params(self, baseline_sha256: str) -> dict:
        d = asdict(self)
        d["deletion_k"] = list(self.deletion_k)
        return dict(d, baseline_sha256=baseline_sha256)


@dataclass(frozen=True)
class Explanation:
    cells: np.ndarray  # [T, F]
    events: np.ndarray  # [G]
    segments: list[tuple[int, int]]  # [G] [start, stop)
    features: np.ndarray  # [F]
    base_value: float  # f(baseline)
    model_value: float  # f(window) as seen by the explainer
    attention: np.ndarray  # [T]
    attention_shap_spearman: float | None
    quality: dict = field(default_factory=dict)  # see streams.quality


def baseline_for(version: str | None = None) -> np.ndarray:
    """The [T, F] float32 reference window shipped with model ``version`` (default model if None).

    It is stored in the model artifact (key ``explain.baseline``) and so fixed
    by the version hash; ``streams.archive.baseline_sha256`` of it is recorded
    in every explanation's ``explainer.params.baseline_sha256``.
    """
    from models.registry import load

    return load(version).baseline.numpy().astype(np.float32)


def segment_bounds(t: int, g: int) -> list[tuple[int, int]]:
    """G contiguous [start, stop) ranges covering T steps, as equal as possible."""
    edges = np.linspace(0, t, g + 1).round().astype(int)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(g)]


def all_coalitions(n: int) -> np.ndarray:
    """[2^n, n] bool: row m has player i on when bit i of m is set."""
    m = np.arange(2**n)[:, None]
    return ((m >> np.arange(n)) & 1).astype(bool)


def shapley_from_values(values: np.ndarray, n: int) -> np.ndarray:
    """Exact Shapley values from v over all 2^n coalitions (row order of all_coalitions)."""
    masks = all_coalitions(n)
    sizes = masks.sum(axis=1)
    weights = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    phi = np.zeros(n)
    for i in range(n):
        without = np.flatnonzero(~masks[:, i])
        phi[i] = np.sum(weights[sizes[without]] * (values[without | (1 << i)] - values[without]))
    return phi


def _feature_inputs(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    masks = all_coalitions(x.shape[1])  # [2^F, F]
    return np.where(masks[:, None, :], x[None], b[None])


def _event_inputs(x: np.ndarray, b: np.ndarray, segments: list[tuple[int, int]]) -> np.ndarray:
    masks = all_coalitions(len(segments))  # [2^G, G]
    step_owner = np.concatenate([np.full(stop - start, g) for g, (start, stop) in enumerate(segments)])
    step_masks = masks[:, step_owner]  # [2^G, T]
    return np.where(step_masks[:, :, None], x[None], b[None])


def _cell_inputs(x: np.ndarray, b: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """For each order, the inputs after switching on its first 1..T*F-1 cells: [M * (T*F-1), T, F].

    (The last step of every order, all cells on, is the window itself: it is
    not evaluated again, its value is the feature game's all-on coalition.)
    """
    n = x.size
    ranks = np.argsort(orders, axis=1)  # rank of each cell in each order
    on = ranks[:, None, :] <= np.arange(n - 1)[None, :, None]  # [M, n-1 steps, n cells]
    flat = np.where(on, x.reshape(-1)[None, None], b.reshape(-1)[None, None])
    return flat.reshape(-1, *x.shape)


def _forward(net, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    score, attention = net(torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)))
    return score.double().numpy(), attention.double().numpy()


def _evaluate(net: torch.nn.Module, inputs: np.ndarray, threads: int) -> tuple[np.ndarray, np.ndarray]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            return _forward(net, inputs)
    finally:
        torch.set_num_threads(previous)


def _permutations(n_cells: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` orders of the cells: random ones each followed by its reverse (antithetic)."""
    halves = [rng.permutation(n_cells) for _ in range((count + 1) // 2)]
    orders = [o for p in halves for o in (p, p[::-1])]
    return np.stack(orders[:count])


def _cells_from_values(values: np.ndarray, orders: np.ndarray, base: float, shape: tuple) -> np.ndarray:
    m, n = orders.shape
    v = values.reshape(m, n)
    marginal = np.diff(np.concatenate([np.full((m, 1), base), v], axis=1), axis=1)  # [M, n]
    cells = np.zeros((m, n))
    np.put_along_axis(cells, orders, marginal, axis=1)
    return cells.mean(axis=0).reshape(shape)


class _Job(NamedTuple):
    x: np.ndarray
    b: np.ndarray
    seed: int
    orders: np.ndarray
    deltas: np.ndarray  # [P, T, F] perturbations as applied in float32


def _prepare(window, baseline, seed: int, config: ExplainConfig) -> tuple[_Job, np.ndarray]:
    """The job and its model inputs: feature coalitions [2^F], event coalitions without the
    all-off/all-on rows [2^G - 2], cell steps [M (TF - 1)], perturbed feature games without
    their all-off row [P (2^F - 1)]. The shapes depend on the config only."""
    x = np.ascontiguousarray(window, dtype=np.float32)
    b = np.ascontiguousarray(baseline, dtype=np.float32)
    t, f = x.shape
    orders = _permutations(t * f, config.cell_permutations, np.random.default_rng(seed))
    raw = q.stability_perturbations(x.shape, config.stability_perturbations, config.stability_eps, seed)
    perturbed = (x[None] + raw).astype(np.float32)
    parts = [_feature_inputs(x, b), _event_inputs(x, b, segment_bounds(t, config.segments))[1:-1],
             _cell_inputs(x, b, orders)]
    parts += [_feature_inputs(xp, b)[1:] for xp in perturbed]
    deltas = perturbed.astype(np.float64) - x[None].astype(np.float64)
    return _Job(x, b, seed, orders, deltas), np.concatenate(parts)


def _finish(net, job: _Job, values: np.ndarray, attention: np.ndarray, config: ExplainConfig) -> Explanation:
    x, b = job.x, job.b
    t, f = x.shape
    m, n = job.orders.shape
    n_feat, n_event = 2**f, 2**config.segments - 2
    feature_values = values[:n_feat]
    base, full = float(feature_values[0]), float(feature_values[-1])
    event_values = np.concatenate([[base], values[n_feat : n_feat + n_event], [full]])
    at = n_feat + n_event
    cell_values = np.concatenate([values[at : at + m * (n - 1)].reshape(m, n - 1), np.full((m, 1), full)], axis=1)
    at += m * (n - 1)
    stab = values[at:].reshape(config.stability_perturbations, n_feat - 1)
    stab_values = np.concatenate([np.full((len(stab), 1), base), stab], axis=1)
    cells = _cells_from_values(cell_values, job.orders, base, x.shape)
    features = shapley_from_values(feature_values, f)
    events = shapley_from_values(event_values, config.segments)
    window_attention = attention[n_feat - 1]  # the all-on coalition is the window itself
    quality = {
        "additivity": {
            "cells": abs(base + float(cells.sum()) - full),
            "events": abs(base + float(events.sum()) - full),
            "features": abs(base + float(features.sum()) - full),
        },
        "stability": q.stability(features, [shapley_from_values(v, f) for v in stab_values], job.deltas),
        "stability_eps": config.stability_eps,
        "stability_perturbations": config.stability_perturbations,
    }
    if config.deletion_k:
        sets = q.deletion_sets(cells, base, full, config.deletion_k, config.deletion_draws, job.seed)
        deleted, _ = _evaluate(net, q.deletion_inputs(x, b, sets), config.threads)
        quality.update(q.deletion_metrics(full, base, deleted, config.deletion_k, config.deletion_draws))
    return Explanation(
        cells=cells,
        events=events,
        segments=segment_bounds(t, config.segments),
        features=features,
        base_value=base,
        model_value=full,
        attention=window_attention,
        attention_shap_spearman=attention_agreement(window_attention, cells),
        quality=quality,
    )


def explain(net: torch.nn.Module, window: np.ndarray, baseline: np.ndarray, seed: int,
            config: ExplainConfig = ExplainConfig()) -> Explanation:
    """Explain one [T][F] window against the baseline, with randomness seeded by ``seed``.

    All coalition values come from one forward pass whose shape depends on
    the config only (the deletion test adds a second, small one: its inputs
    depend on the cell attributions), so a replay is bit-identical.
    """
    job, inputs = _prepare(window, baseline, seed, config)
    values, attention = _evaluate(net, inputs, config.threads)
    return _finish(net, job, values, attention, config)


def explain_batch(net: torch.nn.Module, windows, baseline: np.ndarray, seeds,
                  config: ExplainConfig = ExplainConfig()) -> list[Explanation]:
    """Explain several windows; each result is bit-identical to ``explain`` on that window alone.

    The canonical unit of computation is one signal: its coalition rows form
    one fixed-shape forward chunk (~1,000 rows), the size at which a CPU LSTM
    forward is cheapest per row. Larger concatenated batches are *slower* per
    row on CPU (measured: docs/explanations.md) and would make float results
    depend on batch composition, so batching here amortises nothing but the
    Python call overhead, and never changes a result.
    """
    return [explain(net, w, baseline, int(s), config) for w, s in zip(windows, seeds)]


def attention_agreement(attention: np.ndarray, cells: np.ndarray) -> float | None:
    """Spearman rank correlation of attention[t] with |sum_f SHAP[t, f]|; None if undefined."""
    per_step = np.abs(cells.sum(axis=1))
    if np.ptp(attention) == 0 or np.ptp(per_step) == 0:
        return None
    return float(spearmanr(attention, per_step).statistic)


def additivity_error(base_value: float, cells: np.ndarray, score: float) -> float:
    """|base_value + sum(attributions) - score|, in score units."""
    return float(abs(base_value + float(np.sum(cells)) - score))
