"""Models a desk might bring (test doubles of real shapes): one that is fine, and ones each check must refuse.

They are importable as ``tests.support.desk_models:<Class>``; an artifact may name them once the package
``tests`` is allowed (``TICKSCOPE_MODEL_MODULES=tests``), as a desk allows its own.
"""

from __future__ import annotations

import torch
from torch import nn


class GRUScore(nn.Module):
    """A GRU over the window, head on the last state; no attention. Any T."""

    def __init__(self, n_features: int = 6, hidden: int = 8):
        super().__init__()
        self.gru = nn.GRU(n_features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        states, _ = self.gru(x)
        return self.head(states[:, -1]).squeeze(-1), None


class SoftmaxAttention(nn.Module):
    """A linear score with softmax attention over the steps (weights sum to 1)."""

    def __init__(self, n_features: int = 6):
        super().__init__()
        self.att = nn.Linear(n_features, 1)
        self.head = nn.Linear(n_features, 1)

    def forward(self, x):
        attention = torch.softmax(self.att(x).squeeze(-1), dim=1)
        return self.head(torch.einsum("bt,btf->bf", attention, x)).squeeze(-1), attention


class BatchCentred(GRUScore):
    """Scores centred on the batch mean: a window's score depends on the other windows of its batch."""

    def forward(self, x):
        score, _ = super().forward(x)
        return score - score.mean(), None


class Noisy(GRUScore):
    """Adds fresh noise on every call: not deterministic."""

    def forward(self, x):
        score, _ = super().forward(x)
        return score + torch.rand(score.shape), None


class ScoreOnly(GRUScore):
    """Returns a bare tensor instead of (score, attention)."""

    def forward(self, x):
        return super().forward(x)[0]
