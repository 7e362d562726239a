"""The AttentionLSTM: an LSTM over a [T][F] feature window with temporal attention.

What its score means is the artifact's (``output`` in its spec, models.spec): the
default model forecasts the log ratio of the next 8 ticks' realised volatility to
the last 32 ticks', minus its training mean (positive = volatility up); the first
model (4af871cc...) forecast the next 8-tick return in volatility units.

Attention (Bahdanau-style additive scoring, softmax over the T hidden states)
is returned by ``forward`` so every explanation can carry it; it is a view of
the model's internals, not by itself a faithful explanation (Jain & Wallace,
"Attention is not Explanation", NAACL 2019).
"""

from __future__ import annotations

import torch
from torch import nn


class AttentionLSTM(nn.Module):
    def __init__(self, n_features: int, hidden: int = 32):
        super().__init__()
        self.n_features = n_features
        self.hidden = hidden
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)
        self.att_proj = nn.Linear(hidden, hidden)
        self.att_score = nn.Linear(hidden, 1, bias=False)
        self.head = nn.Linear(2 * hidden, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, T, F] -> (score [B], attention [B, T] summing to 1 over T)."""
        states, _ = self.lstm(x)
        logits = self.att_score(torch.tanh(self.att_proj(states))).squeeze(-1)
        attention = torch.softmax(logits, dim=1)
        context = torch.einsum("bt,bth->bh", attention, states)
        score = self.head(torch.cat([context, states[:, -1]], dim=-1)).squeeze(-1)
        return score, attention


def scores_and_attention(net, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``AttentionLSTM.forward`` with its head written as flat matrix products (addmm, in-place tanh,
    mv, bmm): the same operations in the same order, so the same floats (tested bit for bit against
    ``net(x)``), ~5% faster per explanation because it skips the 3-D Linear and einsum dispatch.
    Any other model (the TCN, a desk's own, test doubles) is simply called: it returns
    ``(score [B], attention [B, T] or None)``."""
    if not isinstance(net, AttentionLSTM):
        return net(x)
    states, _ = net.lstm(x)
    b, t, h = states.shape
    z = torch.addmm(net.att_proj.bias, states.reshape(b * t, h), net.att_proj.weight.t())
    logits = torch.mv(torch.tanh_(z), net.att_score.weight[0]).view(b, t)
    attention = torch.softmax(logits, dim=1)
    context = torch.bmm(attention.unsqueeze(1), states).squeeze(1)
    score = torch.addmm(net.head.bias, torch.cat([context, states[:, -1]], dim=-1), net.head.weight.t())
    return score.squeeze(-1), attention
