"""Rank statistics shared by the explainer's quality numbers and the model's evaluation."""

from __future__ import annotations

import numpy as np


def average_ranks(a: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank (as scipy.stats.rankdata's default)."""
    order = np.argsort(a, kind="mergesort")
    s = a[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], len(a)]
    ranks = np.empty(len(a))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def spearman(a, b) -> float:
    """Spearman rank correlation (Pearson on average ranks, as scipy.stats.spearmanr); inputs must not be constant."""
    ra, rb = average_ranks(np.asarray(a, dtype=np.float64)), average_ranks(np.asarray(b, dtype=np.float64))
    da, db = ra - ra.mean(), rb - rb.mean()
    return float(np.dot(da, db) / np.sqrt(np.dot(da, da) * np.dot(db, db)))
