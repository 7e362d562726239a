"""What ``tickscope bench explain`` measures our explainer against.

- ``reference_shapley``: exact feature- and segment-level baseline Shapley
  values by ``shap.ExactExplainer`` over a masking function written here,
  independently of ``tickscope.explainer`` (the reference for the error figures).
- ``levels_only``: the part of our explainer the speed target counts
  (event + feature levels), timed on its own.
- ``cell_level_error``: how noisy the sampled cell level is, against an
  estimate from hundreds of antithetic orders.
- ``group_cells`` / ``relative_error``: cell attributions summed per group, and the error
  metric max |phi - phi_ref| / |f(x) - f(b)|.
"""

from __future__ import annotations

import numpy as np

REFERENCE_SEED_SALT = 0x5EED  # the reference orders are drawn from another seed than ours


def score_fn(net):
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
    score = score_fn(net)
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


def levels_only(net, x: np.ndarray, b: np.ndarray, config):
    """Just what the speed target names: exact event- and feature-level values (``explain_levels``), no
    cell level, attention or quality numbers. Returns (events, features)."""
    from tickscope.explainer.baseline_shapley import explain_levels

    return explain_levels(net, x, b, config)


def cell_level_error(net, windows: np.ndarray, b: np.ndarray, seeds, config, reference_orders: int = 400) -> dict:
    """How noisy the cell level (a sampled estimate) is: ours against an estimate from
    ``reference_orders`` antithetic permutations (independent seed), per window as
    sum |phi - phi_ref| / |f(x) - f(b)| over all cells, and over the T per-step sums;
    and, for comparison, the same with one order and no antithetic partner."""
    from dataclasses import replace

    from tickscope.explainer.baseline_shapley import explain

    many = replace(config, cell_permutations=reference_orders, deletion_k=(), stability_perturbations=0)
    cells_l1, steps_l1, one_order_l1 = [], [], []
    for x, seed in zip(windows, seeds):
        ref = explain(net, x, b, int(seed) ^ REFERENCE_SEED_SALT, many).cells  # an independent draw of orders
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


def group_cells(cells: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell attributions [T, F] -> (events [G], features [F]) by summing over each group's cells."""
    t, _ = cells.shape
    return cells.reshape(g, t // g, -1).sum(axis=(1, 2)), cells.sum(axis=0)


def relative_error(events: np.ndarray, features: np.ndarray, ref: dict) -> float:
    scale = abs(ref["score"] - ref["base"])
    err = max(np.max(np.abs(events - ref["events"])), np.max(np.abs(features - ref["features"])))
    return float(err / scale) if scale > 0 else float("inf")
