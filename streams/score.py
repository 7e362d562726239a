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


def prefilter_scores(net: torch.nn.Module, windows: np.ndarray) -> np.ndarray:
    """windows [B, T, F] -> scores [B] float64, only to find the windows near or beyond a threshold.

    Not the decisive score (a batched CPU forward differs from the window alone in the last bits; the gate
    re-scores candidates with ``score_one``), so it takes the cheapest forward there is: for the attention
    LSTM, the flat matrix products of ``scores_and_attention`` with the attention's tanh done by numpy
    (about 8 times faster per element than torch's on this CPU; scores agree to ~1e-8, the gate's margin is
    1e-3 of a threshold). Other architectures take their own forward."""
    from tickscope.models.lstm import AttentionLSTM

    if len(windows) == 0:
        return np.zeros(0)
    if not isinstance(net, AttentionLSTM):
        return score_windows(net, windows)[0]
    with torch.inference_mode():
        states, _ = net.lstm(torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)))
        b, t, h = states.shape
        z = torch.addmm(net.att_proj.bias, states.reshape(b * t, h), net.att_proj.weight.t())
        np.tanh(z.numpy(), out=z.numpy())
        attention = torch.softmax(torch.mv(z, net.att_score.weight[0]).view(b, t), dim=1)
        context = torch.bmm(attention.unsqueeze(1), states).squeeze(1)
        score = torch.addmm(net.head.bias, torch.cat([context, states[:, -1]], dim=-1), net.head.weight.t())
    return score.squeeze(-1).double().numpy()


def score_one(net: torch.nn.Module, window: np.ndarray) -> float:
    """The window scored alone (batch of one): the archived, bit-reproducible score."""
    return float(score_windows(net, np.asarray(window, dtype=np.float32)[None])[0][0])
