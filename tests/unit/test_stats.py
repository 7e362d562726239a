"""Rank statistics: the Spearman correlation agrees with scipy's, with and without ties."""

import numpy as np
import pytest

from tickscope.stats import average_ranks, spearman


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spearman_matches_scipy_with_and_without_ties(seed):
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=32), rng.normal(size=32)
    tied_a, tied_b = np.round(a, 0), np.round(b * 3, 0)  # many ties
    for x, y in ((a, b), (tied_a, b), (tied_a, tied_b)):
        assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)


def test_average_ranks_share_the_mean_rank_of_ties_like_scipy():
    from scipy.stats import rankdata

    a = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0])
    assert average_ranks(a).tolist() == rankdata(a).tolist() == [5.0, 1.5, 5.0, 3.0, 5.0, 1.5]
