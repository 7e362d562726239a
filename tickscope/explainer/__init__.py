"""The explainer: baseline Shapley values of a model's score at cell, event and feature level, and their quality.

``baseline_shapley.explain`` treats the model as a black box, v(S) = f(x_S, b):
every coalition is a forward pass of the model on a mix of the window and the
model version's baseline window (docs/explanations.md).
"""
