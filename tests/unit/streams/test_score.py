"""Scoring: the batch prefilter only finds candidates; the window scored alone decides."""

from __future__ import annotations

import numpy as np
import torch

from tickscope.marketdata.sources import load_source
from tickscope.models.dataset import build_samples
from tickscope.streams.gate import CANDIDATE_MARGIN
from tickscope.streams.score import prefilter_scores, score_one, score_windows


def test_prefilter_agrees_with_the_model_far_inside_the_gate_margin(model):
    windows = build_samples(load_source("eurusd")[:1200]).windows
    fast, exact = prefilter_scores(model.net, windows), score_windows(model.net, windows)[0]
    margin = CANDIDATE_MARGIN * max(abs(t) for t in model.thresholds)
    assert len(windows) > 500 and fast.shape == exact.shape
    assert not np.array_equal(fast, np.zeros_like(fast))
    assert np.abs(fast - exact).max() < margin / 100
    assert abs(fast[7] - score_one(model.net, windows[7])) < margin / 100


class _Doubler(torch.nn.Module):
    """Any other architecture: scored by its own forward."""

    def forward(self, x):
        return x.sum(dim=(1, 2)) * 2, torch.full(x.shape[:2], 1.0 / x.shape[1])


def test_prefilter_of_another_architecture_is_its_own_forward():
    windows = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    assert prefilter_scores(_Doubler(), windows).tolist() == [2 * windows[0].sum(), 2 * windows[1].sum()]
    assert prefilter_scores(_Doubler(), windows[:0]).shape == (0,)
