"""What ``tickscope bench explain`` measures our explainer against.

- ``reference_shapley``: exact feature- and segment-level baseline Shapley
  values by ``shap.ExactExplainer`` over a masking function written here,
  independently of ``streams.explain`` (the reference for the error figures).
- ``levels_only``: the part of our explainer the issue's speed target names
  (event + feature levels), timed on its own.
- ``cell_level_error``: how noisy the sampled cell level is, against an
  estimate from hundreds of antithetic orders.
- ``_group`` / ``_error``: cell attributions summed per group, and the error
  metric max |phi - phi_ref| / |f(x) - f(b)|.
"""

from __future__ import annotations

import numpy as np


def _score_fn(net):
    import torch

    def f(inputs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)))[0].double().numpy()

    return f


def reference_shapley(net, x: np.ndarray, b: np.ndarray, g: int) -> dict:
    """Exact feature- and segment-level baseline Shapley values via shap.ExactExplainer."""
    import shap

    t, f = x.shape
    if t % g:
        raise ValueError(f"reference needs T divisible by G (T={t}, G={g})")
    score = _score_fn(net)
    step_group = np.arange(t) // (t // g)

    def feature_game(masks):
        return score(np.where(masks[:, None, :] > 0.5, x[None], b[None]))

    def event_game(masks):
        return score(np.where((masks[:, step_group] > 0.5)[:, :, None], x[None], b[None]))

    out = {}
    for name, game, n in (("features", feature_game, f), ("events", event_game, g)):
        expl = shap.ExactExplainer(game, shap.maskers.Independent(np.zeros((1, n))))(np.ones((1, n)))
        out[name] = np.asarray(expl.values[0], dtype=np.float64)
        out["base"] = float(np.asarray(expl.base_values).reshape(-1)[0])
    out["score"] = float(score(x[None])[0])
    return out


def levels_only(net, x: np.ndarray, b: np.ndarray, seed: int, config):
    """Just what the issue's speed target names: exact event- and feature-level values, with our
    explainer's own building blocks (one forward pass over the 2^F + 2^G - 2 coalitions), and no cell
    level, attention or quality numbers. Returns (events, features)."""
    from dataclasses import replace

    from streams.explain import _evaluate, _prepare, shapley_from_values

    bare = replace(config, cell_permutations=0, deletion_k=(), stability_perturbations=0)
    job, inputs = _prepare(x, b, seed, bare)
    values, _ = _evaluate(net, inputs, bare.threads)
    lay = job.layout
    feature_values = values[: lay.features]
    events = np.concatenate([[feature_values[0]], values[lay.events], [feature_values[-1]]])
    return shapley_from_values(events, bare.segments), shapley_from_values(feature_values, x.shape[1])


def cell_level_error(net, windows: np.ndarray, b: np.ndarray, seeds, config, reference_orders: int = 400) -> dict:
    """How noisy the cell level (a sampled estimate) is: ours against an estimate from
    ``reference_orders`` antithetic permutations (independent seed), per window as
    sum |phi - phi_ref| / |f(x) - f(b)| over all cells, and over the T per-step sums;
    and, for comparison, the same with one order and no antithetic partner."""
    from dataclasses import replace

    from streams.explain import _cells_from_values, _evaluate, _permutations, explain

    t, f = b.shape
    n = t * f
    cells_l1, steps_l1, one_order_l1 = [], [], []
    for x, seed in zip(windows, seeds):
        orders = _permutations(n, reference_orders, np.random.default_rng([seed, 99]))
        ranks = np.argsort(orders, axis=1)
        values, base = [], float(_evaluate(net, b[None], 1)[0][0])
        for chunk in np.array_split(np.arange(len(orders)), max(1, len(orders) // 8)):
            on = ranks[chunk][:, None, :] <= np.arange(n)[None, :, None]
            values.append(_evaluate(net, np.where(on.reshape(-1, t, f), x[None], b[None]), 1)[0])
        ref = _cells_from_values(np.concatenate(values), orders, base, (t, f))
        ours = explain(net, x, b, int(seed), config).cells
        scale = abs(float(ref.sum()))
        one_order = explain(net, x, b, int(seed), replace(config, cell_permutations=1)).cells
        cells_l1.append(float(np.abs(ours - ref).sum() / scale))
        one_order_l1.append(float(np.abs(one_order - ref).sum() / scale))
        steps_l1.append(float(np.abs(ours.sum(axis=1) - ref.sum(axis=1)).sum() / scale))
    return {"reference_orders": reference_orders, "windows": len(cells_l1),
            "cells_l1_max": max(cells_l1), "cells_l1_median": float(np.median(cells_l1)),
            "steps_l1_max": max(steps_l1), "steps_l1_median": float(np.median(steps_l1)),
            "one_order_cells_l1_median": float(np.median(one_order_l1))}


def _group(cells: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell attributions [T, F] -> (events [G], features [F]) by summing over each group's cells."""
    t, _ = cells.shape
    return cells.reshape(g, t // g, -1).sum(axis=(1, 2)), cells.sum(axis=0)


def _error(events: np.ndarray, features: np.ndarray, ref: dict) -> float:
    scale = abs(ref["score"] - ref["base"])
    err = max(np.max(np.abs(events - ref["events"])), np.max(np.abs(features - ref["features"])))
    return float(err / scale) if scale > 0 else float("inf")
