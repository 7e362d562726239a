"""The explainer treats a model as a black box: one without attention gets the same exact games, no attention."""

from __future__ import annotations

import numpy as np
import torch

from tests.support.models import load as load_version
from tests.support.models import tcn_version
from tickscope.explainer.baseline_shapley import explain, explain_levels


def test_a_model_without_attention_is_explained_exactly(windows):
    tcn = load_version(tcn_version())
    base = tcn.baseline.numpy()
    for w in windows:
        e = explain(tcn.net, w, base, seed=5)
        with torch.inference_mode():
            full, none = tcn.net(torch.from_numpy(np.stack([w, base])))
        assert none is None and e.attention is None and e.attention_shap_spearman is None
        assert abs(e.model_value - float(full[0])) < 1e-6 and abs(e.base_value - float(full[1])) < 1e-6  # batch shape
        for level in (e.cells, e.events, e.features):
            assert abs(e.base_value + level.sum() - e.model_value) < 1e-6
        assert e.quality["stability"] is not None and e.quality["faithfulness"] is not None
        events, features = explain_levels(tcn.net, w, base)
        np.testing.assert_allclose(events, e.events, atol=1e-7)  # another batch shape: float rounding only
        np.testing.assert_allclose(features, e.features, atol=1e-7)
        again = explain(tcn.net, w, base, seed=5)
        np.testing.assert_array_equal(again.cells, e.cells)  # seeded: bit for bit
