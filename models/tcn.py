"""A second architecture without attention: a temporal convolution network over the [T][F] window.

Why it ships: proof that nothing downstream is wired to the LSTM. The explainer
treats every model as a black box (v(S) = f(x_S, b)); a model without attention
returns ``None`` in its place and the record's attention fields are null.

Shape: a 1x1 input convolution to ``hidden`` channels, then causal dilated
convolution blocks (kernel 3, dilations 1, 2, 4, 8: a receptive field of 31 of
the 32 steps), each ``h + relu(conv(left-padded h))``; the head reads the last
time step. Same target, data and training as the AttentionLSTM (models.train).
"""

from __future__ import annotations

import torch
from torch import nn


class TCN(nn.Module):
    def __init__(self, n_features: int, hidden: int = 32, dilations: tuple[int, ...] | list[int] = (1, 2, 4, 8),
                 kernel: int = 3):
        super().__init__()
        self.n_features, self.hidden = n_features, hidden
        self.dilations, self.kernel = tuple(int(d) for d in dilations), int(kernel)
        self.inp = nn.Conv1d(n_features, hidden, 1)
        self.convs = nn.ModuleList(nn.Conv1d(hidden, hidden, self.kernel, dilation=d) for d in self.dilations)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """x [B, T, F] -> (score [B], None: this model has no attention)."""
        h = self.inp(x.transpose(1, 2))  # [B, C, T]
        for conv, d in zip(self.convs, self.dilations):
            h = h + torch.relu(conv(nn.functional.pad(h, ((self.kernel - 1) * d, 0))))
        return self.head(h[:, :, -1]).squeeze(-1), None
