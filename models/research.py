"""The figures that chose the default model's target and the second architecture, as cards cite them.

Provenance: the research round before the volatility model shipped (docs/models.md,
"How the target was chosen"): the repository's split (per source 70/15/15, 72-tick
gap, 2,256 test windows of eurusd, goog, sp500, nasdaq), three seeds (0, 1, 2) per
setting, the paired block bootstrap of models.skill (block 32, 1,000 resamples,
seed 0). These experiments are not re-run by ``tickscope train``; the return
target's row can be re-measured with ``tickscope train --target return_z``, and
the chosen target's seed-0 row is the shipped card itself.
"""

from __future__ import annotations

TARGETS = (
    # (target, what was measured (mean of 3 seeds unless stated), verdict)
    ("forward return z (the first model)", "directional accuracy 0.526 vs 0.603 for the drift; IC +0.026, "
     "intervals include 0; attention exactly uniform (entropy ratio 1.000)", "no skill"),
    ("(a) forward return, drift removed", "IC +0.02 (TCN +0.05), intervals include 0; best epoch 1-2; "
     "significant signals 100% up", "no skill"),
    ("(b) direction, balanced BCE", "balanced accuracy 0.48-0.51", "no skill"),
    ("(c) log forward / trailing realised volatility", "IC minus HAR-L +0.111, interval above 0 in 3 of 3 seeds; "
     "MSE minus HAR-L -0.016, interval below 0 in 3 of 3", "skill, chosen"),
    ("(d) size of the next move", "MSE minus baseline -0.021 (interval excludes 0 in 1 of 3 seeds); IC +0.050 "
     "(1 of 3); significant signals 18% up", "weak, unstable"),
)

ARCHITECTURES = (
    # (architecture, IC minus HAR-L (mean of 3 seeds), MSE minus HAR-L, CPU s per training run)
    ("AttentionLSTM (hidden 32)", "+0.111 (interval above 0: 3 of 3)", "-0.016 (3 of 3)", "9-12"),
    ("TCN (4 causal dilated blocks, 32 channels)", "+0.098 (2 of 3)", "-0.011 (0 of 3)", "14"),
    ("GRU (hidden 32)", "+0.011", "+0.003", "12"),
)

GATES = (
    "one |score| threshold at the 97.5% quantile: 16% of significant signals up, both sides on every source in 0 "
    "of 3 seeds",
    "two thresholds at the 1.25% / 98.75% quantiles (2.5% firing): goog fails in every seed",
    "two thresholds at the 2.5% / 97.5% quantiles (5% firing), cooldown 8: both sides on every source's test split "
    "in 3 of 3 seeds (AttentionLSTM), 2 of 3 (TCN)",
)
