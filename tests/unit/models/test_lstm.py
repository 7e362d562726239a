"""The explainer's fast head of the AttentionLSTM is bit-identical to its forward."""

from __future__ import annotations

import numpy as np
import torch


def test_fast_head_is_bit_identical_to_the_model_forward(model, windows):
    """The explainer's own forward (models.lstm.scores_and_attention) must give the model's floats."""
    from tickscope.models.lstm import scores_and_attention

    x = torch.from_numpy(np.stack(windows).astype(np.float32))
    x = torch.cat([x, x + 0.01, x * 0.5])
    with torch.inference_mode():
        ref, fast = model.net(x), scores_and_attention(model.net, x)
    assert torch.equal(ref[0], fast[0]) and torch.equal(ref[1], fast[1])


