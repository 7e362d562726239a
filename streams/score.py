"""Stage ``score``: a micro-batch of feature windows -> model scores and attention.

One forward pass per micro-batch: batching across symbols amortises the
per-call overhead of the LSTM (see ``tickscope bench model``). A CPU forward
pass is not bit-identical across batch shapes (~1e-8), so the score that
decides and is archived is ``score_one``: the window scored alone, which any
replay reproduces bit for bit whatever batch the window first arrived in.
"""

from __future__ import annotations

import numpy as np
import torch


def score_windows(net: torch.nn.Module, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """windows [B, T, F] float32 -> (scores [B] float64, attention [B, T] float64)."""
    if len(windows) == 0:
        return np.zeros(0), np.zeros((0, 0))
    with torch.inference_mode():
        score, attention = net(torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)))
    return score.double().numpy(), attention.double().numpy()


def prefilter_scores(net: torch.nn.Module, windows: np.ndarray) -> np.ndarray:
    """windows [B, T, F] -> scores [B] float64, only to find the windows near or beyond a threshold.

    Not the decisive score (a batched CPU forward differs from the window alone in the last bits; the gate
    re-scores candidates with ``score_one``), so it takes the model's cheapest forward
    (``scores_and_attention``: the same operations as ``forward`` written as flat matrix products); other
    architectures take their own forward."""
    from tickscope.models.lstm import AttentionLSTM, scores_and_attention

    if len(windows) == 0:
        return np.zeros(0)
    if not isinstance(net, AttentionLSTM):
        return score_windows(net, windows)[0]
    with torch.inference_mode():
        score, _ = scores_and_attention(net, torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)))
    return score.double().numpy()


def score_one(net: torch.nn.Module, window: np.ndarray) -> float:
    """The window scored alone (batch of one): the archived, bit-reproducible score."""
    return float(score_windows(net, np.asarray(window, dtype=np.float32)[None])[0][0])
