"""The competitors and the inputs of ``tickscope bench explain``: real signal windows and the SHAP / Captum baselines.

Why a module of its own: building each baseline (its wrapper, its masking game, its sample counts) is setup, not
measurement; keeping it here leaves ``bench/explain_bench.py`` with the method, the timed loops and the report.
Every baseline returns attributions at the same two levels as ours (G time segments, F feature columns), so
``bench.explain_reference.relative_error`` scores them all alike.
"""

from __future__ import annotations

import numpy as np

from bench.explain_reference import group_cells, score_fn


def real_windows(model, count: int, source: str = "eurusd") -> np.ndarray:
    """Up to ``count`` significant windows (|score| >= threshold), evenly spread over the source."""
    import torch

    from tickscope.features.window import HISTORY, window_from_history
    from tickscope.marketdata.sources import load_source

    rows = load_source(source)
    p = np.array([r.price for r in rows], dtype=np.float64)
    s = np.array([np.nan if r.size is None else r.size for r in rows], dtype=np.float64)
    ends = np.arange(HISTORY, len(rows) + 1, 4)
    windows = np.stack([window_from_history(p[:i], s[:i]) for i in ends])
    with torch.inference_mode():
        scores = model.net(torch.from_numpy(windows))[0].numpy()
    significant = windows[np.abs(scores) >= model.threshold]
    pool = significant if len(significant) >= count else windows[np.argsort(-np.abs(scores))[: max(count, 1)]]
    pick = np.linspace(0, len(pool) - 1, min(count, len(pool))).round().astype(int)
    return pool[pick]


class _ScoreModule:
    """Wrap the model so gradient explainers see one output: score [B, 1]."""

    def __new__(cls, net):
        import torch

        class Score(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, x):
                return self.net(x)[0].unsqueeze(-1)

        return Score().eval()


def baseline_methods(net, b: np.ndarray, g: int, kernel_nsamples: int, gradient_nsamples: int,
                     ig_steps: int) -> dict:
    """name -> callable(x) returning (events, features), or a string saying why it is unavailable."""
    import shap
    import torch

    t, f = b.shape
    wrapped = _ScoreModule(net)
    b_t = torch.from_numpy(b[None].copy())
    score = score_fn(net)
    step_group = np.arange(t) // (t // g)
    methods = {}

    def gradient(x):
        e = shap.GradientExplainer(wrapped, b_t)
        vals = e.shap_values(torch.from_numpy(x[None].copy()), nsamples=gradient_nsamples, rseed=0)
        return group_cells(np.asarray(vals).reshape(t, f), g)

    methods["shap.GradientExplainer"] = gradient

    def kernel(x):
        out = []
        for n, mask_of in ((g, lambda m: (m[:, step_group] > 0.5)[:, :, None]), (f, lambda m: m[:, None, :] > 0.5)):
            def game(masks, mask_of=mask_of):
                return score(np.where(mask_of(masks), x[None], b[None]))

            e = shap.KernelExplainer(game, np.zeros((1, n)))
            out.append(np.asarray(e.shap_values(np.ones((1, n)), nsamples=kernel_nsamples, silent=True)).reshape(n))
        return out[0], out[1]

    methods[f"shap.KernelExplainer(grouped, nsamples={kernel_nsamples})"] = kernel

    def deep(x):
        e = shap.DeepExplainer(wrapped, b_t)
        vals = e.shap_values(torch.from_numpy(x[None].copy()), check_additivity=True)
        return group_cells(np.asarray(vals).reshape(t, f), g)

    methods["shap.DeepExplainer"] = deep
    try:
        from captum.attr import GradientShap, IntegratedGradients

        ig, gs = IntegratedGradients(wrapped), GradientShap(wrapped)

        def integrated(x):
            a = ig.attribute(torch.from_numpy(x[None].copy()), baselines=b_t, target=0, n_steps=ig_steps)
            return group_cells(a.detach().numpy().reshape(t, f), g)

        def gradient_shap(x):
            torch.manual_seed(0)
            a = gs.attribute(torch.from_numpy(x[None].copy()), baselines=b_t, target=0,
                             n_samples=gradient_nsamples, stdevs=0.0)
            return group_cells(a.detach().numpy().reshape(t, f), g)

        methods[f"captum.IntegratedGradients(n_steps={ig_steps})"] = integrated
        methods[f"captum.GradientShap(n_samples={gradient_nsamples})"] = gradient_shap
    except ImportError as exc:
        methods["captum"] = f"not installed ({exc}); pip install 'tickscope[bench]'"
    try:
        import timeshap  # noqa: F401

        methods["timeshap"] = "installed but not benchmarked: its explainer targets shap<0.40 APIs"
    except ImportError:
        methods["timeshap"] = "not installed: TimeSHAP 1.0.4 (feedzai) is not a dependency; see docs/explanations.md"
    return methods
