"""Stage ``score``: a micro-batch of feature windows -> model scores and attention.

One forward pass per micro-batch: batching across symbols amortises the
per-call overhead of the model (see ``tickscope bench model``). A CPU forward
pass is not bit-identical across batch shapes (~1e-8), so the score that
decides and is archived is ``score_one``: the window scored alone, which any
replay reproduces bit for bit whatever batch the window first arrived in.
"""

from __future__ import annotations

import numpy as np
import torch


def score_windows(net: torch.nn.Module, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """windows [B, T, F] float32 -> (scores [B] float64, attention [B, T] float64, or None for a model
    without attention)."""
    if len(windows) == 0:
        return np.zeros(0), np.zeros((0, 0))
    with torch.inference_mode():
        score, attention = net(torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)))
    return score.double().numpy(), None if attention is None else attention.double().numpy()


def score_one(net: torch.nn.Module, window: np.ndarray) -> float:
    """The window scored alone (batch of one): the archived, bit-reproducible score."""
    return float(score_windows(net, np.asarray(window, dtype=np.float32)[None])[0][0])
