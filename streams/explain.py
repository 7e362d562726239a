"""Stage ``explain``: SHAP attributions of a signal's score at three levels, plus attention.

All three levels explain the same quantity, ``f(window) - f(baseline)``,
where f is the model's score and the baseline is the reference window shipped
with the model version (the element-wise median of training windows). They
are Shapley values of three games with the same value function
``v(S) = f(x_S, b_rest)`` ("baseline Shapley", Sundararajan & Najmi, ICML 2020),
differing only in who the players are, so each level sums to score - base:

- feature level: players are the F features (whole columns); exact, by
  enumerating all 2^F coalitions.
- event level: players are G contiguous time segments (T/G steps each);
  exact, by enumerating all 2^G coalitions.
- cell level [T][F]: players are single cells; 2^(T*F) coalitions cannot be
  enumerated, so the values are estimated by antithetic permutation sampling
  (Castro et al. 2009; Mitchell et al. 2022), seeded from the signal id. Each
  permutation's marginal contributions telescope to f(x) - f(b), so the
  estimate is exactly additive whatever the sampling noise.

Every model evaluation of one explanation runs in one batched forward pass
with a fixed shape, so a replay on the same model version and thread count is
bit-identical.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import factorial

import numpy as np
import torch
from scipy.stats import spearmanr

STAGE_ID = "explain"
METHOD = "tickscope.baseline-shapley/v1"


@dataclass(frozen=True)
class ExplainConfig:
    """Explainer parameters; recorded in every archive record."""

    segments: int = 8  # G, event-level players
    cell_permutations: int = 4  # antithetic: pairs of a permutation and its reverse
    threads: int = 1  # torch intra-op threads; part of the bit-exact replay contract

    def params(self, baseline_sha256: str) -> dict:
        return dict(asdict(self), baseline_sha256=baseline_sha256)


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


def _permutations(n_cells: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` orders of the cells: random ones each followed by its reverse (antithetic)."""
    halves = [rng.permutation(n_cells) for _ in range((count + 1) // 2)]
    orders = [o for p in halves for o in (p, p[::-1])]
    return np.stack(orders[:count])


def _cell_inputs(x: np.ndarray, b: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """For each order, the inputs after switching on its first 1..T*F cells: [M * T*F, T, F]."""
    n = x.size
    ranks = np.argsort(orders, axis=1)  # rank of each cell in each order
    on = ranks[:, None, :] <= np.arange(n)[None, :, None]  # [M, n steps, n cells]
    flat = np.where(on, x.reshape(-1)[None, None], b.reshape(-1)[None, None])
    return flat.reshape(-1, *x.shape)


def _cells_from_values(values: np.ndarray, orders: np.ndarray, base: float, shape: tuple) -> np.ndarray:
    m, n = orders.shape
    v = values.reshape(m, n)
    marginal = np.diff(np.concatenate([np.full((m, 1), base), v], axis=1), axis=1)  # [M, n]
    cells = np.zeros((m, n))
    np.put_along_axis(cells, orders, marginal, axis=1)
    return cells.mean(axis=0).reshape(shape)


def _evaluate(net: torch.nn.Module, inputs: np.ndarray, threads: int) -> tuple[np.ndarray, np.ndarray]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            score, attention = net(torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)))
    finally:
        torch.set_num_threads(previous)
    return score.double().numpy(), attention.double().numpy()


def explain(net: torch.nn.Module, window: np.ndarray, baseline: np.ndarray, seed: int,
            config: ExplainConfig = ExplainConfig()) -> Explanation:
    """Explain one [T][F] window against the baseline, with randomness seeded by ``seed``."""
    x = np.asarray(window, dtype=np.float32)
    b = np.asarray(baseline, dtype=np.float32)
    t, f = x.shape
    segments = segment_bounds(t, config.segments)
    orders = _permutations(t * f, config.cell_permutations, np.random.default_rng(seed))
    parts = [_feature_inputs(x, b), _event_inputs(x, b, segments), _cell_inputs(x, b, orders)]
    values, attention = _evaluate(net, np.concatenate(parts), config.threads)
    n_feat, n_event = 2**f, 2**config.segments
    feature_values, event_values = values[:n_feat], values[n_feat : n_feat + n_event]
    base, full = float(feature_values[0]), float(feature_values[-1])
    cells = _cells_from_values(values[n_feat + n_event :], orders, base, x.shape)
    window_attention = attention[n_feat - 1]  # the all-on coalition is the window itself
    return Explanation(
        cells=cells,
        events=shapley_from_values(event_values, config.segments),
        segments=segments,
        features=shapley_from_values(feature_values, f),
        base_value=base,
        model_value=full,
        attention=window_attention,
        attention_shap_spearman=attention_agreement(window_attention, cells),
    )


def attention_agreement(attention: np.ndarray, cells: np.ndarray) -> float | None:
    """Spearman rank correlation of attention[t] with |sum_f SHAP[t, f]|; None if undefined."""
    per_step = np.abs(cells.sum(axis=1))
    if np.ptp(attention) == 0 or np.ptp(per_step) == 0:
        return None
    return float(spearmanr(attention, per_step).statistic)


def additivity_error(base_value: float, cells: np.ndarray, score: float) -> float:
    """|base_value + sum(attributions) - score|, in score units."""
    return float(abs(base_value + float(np.sum(cells)) - score))
