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
rows, see ``tickscope.explainer.quality``) is evaluated in one batched forward pass with
shapes fixed by the config alone, so a replay on the same model version and
thread count is bit-identical. Rows shared between games (the all-off and
all-on coalitions, the last step of every permutation) are evaluated once,
so every game telescopes between the very same f(b) and f(x). The deletion
test needs one small second pass (its inputs depend on the cell values).

Attention is the model's own [T] weights on the window, when it has them; a
model without attention (``models.tcn``, a desk's own) returns None in their
place, and the explanation's attention and its agreement with SHAP are None.

See docs/explanations.md for the full account.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch

from tickscope.explainer import quality as q
from tickscope.explainer.shapley import all_coalitions, segment_bounds, shapley_from_values
from tickscope.models.lstm import scores_and_attention

METHOD = "tickscope.baseline-shapley/v3"


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
    attention: np.ndarray | None  # [T]; None for a model without attention
    attention_shap_spearman: float | None
    quality: dict = field(default_factory=dict)  # see tickscope.explainer.quality


def baseline_sha256(baseline: np.ndarray) -> str:
    """Hash of the float32 baseline window bytes: identifies the explanation's reference.

    The baseline (the element-wise median of training windows) is stored in the
    model artifact, so it is fixed by the model version; every explanation records
    this hash in ``explainer.params.baseline_sha256``.
    """
    return hashlib.sha256(np.ascontiguousarray(baseline, dtype=np.float32).tobytes()).hexdigest()


@lru_cache(maxsize=None)
def _step_owner(t: int, g: int) -> np.ndarray:
    return np.concatenate([np.full(stop - start, i) for i, (start, stop) in enumerate(segment_bounds(t, g))])


def _fill(out: np.ndarray, source: np.ndarray, on: np.ndarray) -> None:
    """out[r] := source where on[r] (broadcast), else left as is (the baseline)."""
    np.copyto(out, source, where=on)


class _Layout(NamedTuple):
    """Row offsets of one explanation's forward pass (shapes depend on the config and T, F only)."""

    features: int  # 2^F rows from 0: feature coalitions, row 0 = baseline, last = window
    events: slice  # 2^G - 2 event coalitions (without all-off / all-on)
    cells: slice  # M (TF - 1) permutation steps
    stability: slice  # P (2^F - 1) perturbed feature games without their all-off row
    deletion: slice  # len(k) x draws random deletion sets
    rows: int


def _layout(t: int, f: int, config: ExplainConfig) -> _Layout:
    n_feat, n_event = 2**f, 2**config.segments - 2
    n_cell = config.cell_permutations * (t * f - 1)
    n_stab = config.stability_perturbations * (n_feat - 1)
    n_del = len(config.deletion_k) * config.deletion_draws
    at = np.cumsum([n_feat, n_event, n_cell, n_stab, n_del])
    return _Layout(n_feat, slice(at[0], at[1]), slice(at[1], at[2]), slice(at[2], at[3]), slice(at[3], at[4]),
                   int(at[4]))


def coalition_rows(t: int, f: int, config: ExplainConfig = ExplainConfig()) -> int:
    """Rows of one explanation's main forward pass for a [T, F] window: 2^F feature coalitions, 2^G - 2 event
    coalitions, M (TF - 1) permutation steps, P (2^F - 1) stability rows and the random deletion sets (834 for
    T = 32, F = 6 and the defaults): what an explanation costs, in forward passes of one window."""
    return _layout(t, f, config).rows


def _permutations(n_cells: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` orders of the cells: random ones each followed by its reverse (antithetic)."""
    halves = [rng.permutation(n_cells) for _ in range((count + 1) // 2)]
    orders = [o for p in halves for o in (p, p[::-1])]
    return np.stack(orders[:count]) if orders else np.zeros((0, n_cells), dtype=np.int64)


def _cells_from_values(values: np.ndarray, orders: np.ndarray, base: float, shape: tuple) -> np.ndarray:
    m, n = orders.shape
    v = values.reshape(m, n)
    marginal = np.diff(v, axis=1, prepend=base)  # [M, n]
    cells = np.zeros((m, n))
    np.put_along_axis(cells, orders, marginal, axis=1)
    return cells.mean(axis=0).reshape(shape)


class _Job(NamedTuple):
    x: np.ndarray
    b: np.ndarray
    seed: int
    orders: np.ndarray
    deltas: np.ndarray  # [P, T, F] perturbations as applied in float32
    random_sets: list  # per k: ``deletion_draws`` random cell sets
    layout: _Layout


def _prepare(window, baseline, seed: int, config: ExplainConfig) -> tuple[_Job, np.ndarray]:
    """The job and its model inputs [rows, T, F] float32, laid out as ``_layout`` says.
    Every row starts as the baseline; the cells a coalition switches on are copied from the window."""
    x = np.ascontiguousarray(window, dtype=np.float32)
    b = np.ascontiguousarray(baseline, dtype=np.float32)
    t, f = x.shape
    lay = _layout(t, f, config)
    orders = _permutations(t * f, config.cell_permutations, np.random.default_rng(seed))
    raw = q.stability_perturbations(x.shape, config.stability_perturbations, config.stability_eps, seed)
    perturbed = (x[None] + raw).astype(np.float32)
    random_sets = q.random_cells(t * f, config.deletion_k, config.deletion_draws, seed)
    inputs = np.empty((lay.rows, t, f), dtype=np.float32)
    inputs[:] = b
    feature_on = all_coalitions(f)[:, None, :]
    _fill(inputs[: lay.features], x, feature_on)
    _fill(inputs[lay.events], x, all_coalitions(config.segments)[1:-1, _step_owner(t, config.segments), None])
    if len(orders):
        ranks = np.argsort(orders, axis=1)  # rank of each cell in each order
        on = ranks[:, None, :] <= np.arange(t * f - 1)[None, :, None]  # [M, n-1 steps, n cells]
        _fill(inputs[lay.cells], x, on.reshape(-1, t, f))
    stab = inputs[lay.stability].reshape(len(perturbed), lay.features - 1, t, f)
    for p, xp in enumerate(perturbed):
        _fill(stab[p], xp, feature_on[1:])
    flat_del = inputs[lay.deletion].reshape(-1, t * f)
    flat_del[:] = x.reshape(-1)
    for r, cells in enumerate(s for sets in random_sets for s in sets):
        flat_del[r, cells] = b.reshape(-1)[cells]
    deltas = perturbed.astype(np.float64) - x[None].astype(np.float64)
    return _Job(x, b, seed, orders, deltas, random_sets, lay), inputs


def _evaluate(net: torch.nn.Module, inputs: np.ndarray, threads: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(scores [R], attention [R, T] or None for a model without attention) in float64,
    from ``scores_and_attention``."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            score, attention = scores_and_attention(net, torch.from_numpy(np.ascontiguousarray(inputs, np.float32)))
            return score.double().numpy(), None if attention is None else attention.double().numpy()
    finally:
        torch.set_num_threads(previous)


def _deletion(net, job: _Job, cells: np.ndarray, base: float, full: float, values: np.ndarray,
              config: ExplainConfig) -> dict:
    """Deletion faithfulness: the random sets were scored in the main pass; the top-k sets (which depend
    on the cell values) in one small second pass."""
    if not config.deletion_k:
        return {}
    sign = q.direction(base, full)
    tops = [q.top_cells(cells, k, sign) for k in config.deletion_k]
    top_scores, _ = _evaluate(net, q.deletion_inputs(job.x, job.b, tops), config.threads)
    rand = values[job.layout.deletion].reshape(len(config.deletion_k), config.deletion_draws)
    deleted = np.concatenate([top_scores[:, None], rand], axis=1).reshape(-1)
    return q.deletion_metrics(full, base, deleted, config.deletion_k, config.deletion_draws)


def _finish(net, job: _Job, values: np.ndarray, attention: np.ndarray | None, config: ExplainConfig) -> Explanation:
    x, lay = job.x, job.layout
    t, f = x.shape
    feature_values = values[: lay.features]
    base, full = float(feature_values[0]), float(feature_values[-1])
    event_values = np.concatenate([[base], values[lay.events], [full]])
    m = len(job.orders)
    cell_values = np.concatenate([values[lay.cells].reshape(m, t * f - 1), np.full((m, 1), full)], axis=1)
    stab = values[lay.stability].reshape(config.stability_perturbations, lay.features - 1)
    stab_values = np.concatenate([np.full((len(stab), 1), base), stab], axis=1)
    cells = _cells_from_values(cell_values, job.orders, base, x.shape)
    features = shapley_from_values(feature_values, f)
    events = shapley_from_values(event_values, config.segments)
    window_attention = None if attention is None else attention[lay.features - 1]  # all-on coalition = the window
    quality = {
        "additivity": {
            "cells": abs(base + float(cells.sum()) - full),
            "events": abs(base + float(events.sum()) - full),
            "features": abs(base + float(features.sum()) - full),
        },
        "stability": q.stability(features, shapley_from_values(stab_values, f), job.deltas),
        "stability_eps": config.stability_eps,
        "stability_perturbations": config.stability_perturbations,
    }
    quality.update(_deletion(net, job, cells, base, full, values, config))
    return Explanation(
        cells=cells,
        events=events,
        segments=segment_bounds(t, config.segments),
        features=features,
        base_value=base,
        model_value=full,
        attention=window_attention,
        attention_shap_spearman=q.attention_agreement(window_attention, cells),
        quality=quality,
    )


def explain(net: torch.nn.Module, window: np.ndarray, baseline: np.ndarray, seed: int,
            config: ExplainConfig = ExplainConfig()) -> Explanation:
    """Explain one [T][F] window against the baseline, with randomness seeded by ``seed``.

    All coalition values come from one forward pass whose shape depends on
    the config only (the deletion test adds a second, small one: its top-k
    inputs depend on the cell attributions), so a replay is bit-identical.
    """
    job, inputs = _prepare(window, baseline, seed, config)
    values, attention = _evaluate(net, inputs, config.threads)
    return _finish(net, job, values, attention, config)


def explain_levels(net: torch.nn.Module, window: np.ndarray, baseline: np.ndarray,
                   config: ExplainConfig = ExplainConfig()) -> tuple[np.ndarray, np.ndarray]:
    """(events [G], features [F]): the exact event- and feature-level values alone, from one forward pass over
    their 2^F + 2^G - 2 coalitions; no cell level, attention or quality numbers (nothing random, so no seed).
    The same numbers as ``explain``'s ``events`` and ``features`` up to the float rounding of another batch shape
    (measured: features equal, events within ~4e-9); this is the part the speed target counts."""
    bare = replace(config, cell_permutations=0, deletion_k=(), stability_perturbations=0)
    job, inputs = _prepare(window, baseline, 0, bare)
    values, _ = _evaluate(net, inputs, bare.threads)
    feature_values = values[: job.layout.features]
    events = np.concatenate([[feature_values[0]], values[job.layout.events], [feature_values[-1]]])
    return shapley_from_values(events, bare.segments), shapley_from_values(feature_values, job.x.shape[1])


def explain_batch(net: torch.nn.Module, windows, baseline: np.ndarray, seeds,
                  config: ExplainConfig = ExplainConfig()) -> list[Explanation]:
    """Explain several windows; each result is bit-identical to ``explain`` on that window alone.

    The canonical unit of computation is one signal: its coalition rows form
    one fixed-shape forward chunk (~500-1,000 rows), the size at which a CPU LSTM
    forward is cheapest per row. Larger concatenated batches are *slower* per
    row on CPU (measured: docs/explanations.md) and would make float results
    depend on batch composition, so batching here amortises nothing but the
    Python call overhead, and never changes a result.
    """
    return [explain(net, w, baseline, int(s), config) for w, s in zip(windows, seeds)]

