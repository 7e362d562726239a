"""The signal view's SHAP waterfall (the quality numbers in words are ``tickscope.dashboard.quality``).

Pure functions of one archive record (a dict). Every number drawn is a field
of the record: the waterfall starts at ``base_value``, steps by each feature's
``feature_attributions`` value (largest |value| first) and ends at the record's
own ``score`` (drawn as an absolute bar, not as plotly's computed total, so the
end bar is the score the model gave; the feature game is exact, so the steps
add up to it within ``quality.additivity.features``).
"""

from __future__ import annotations

import plotly.graph_objects as go

from tickscope.dashboard.figures import NEG_COLOR, POS_COLOR, TEMPLATE

SCORE_COLOR = "#34495e"


def waterfall_figure(rec: dict) -> go.Figure:
    """Feature-level SHAP waterfall: base value -> one step per feature -> score."""
    names = list(rec["feature_names"])
    values = [float(v) for v in rec["feature_attributions"]]
    order = sorted(range(len(names)), key=lambda i: -abs(values[i]))
    base, score = float(rec["base_value"]), float(rec["score"])
    x = ["base value"] + [names[i] for i in order] + ["score"]
    y = [base] + [values[i] for i in order] + [score]
    text = [f"{base:.4f}"] + [f"{values[i]:+.4f}" for i in order] + [f"{score:.4f}"]
    fig = go.Figure(go.Waterfall(
        x=x, y=y, measure=["absolute"] + ["relative"] * len(order) + ["absolute"], text=text,
        textposition="outside", cliponaxis=False, name="feature SHAP",
        increasing=dict(marker=dict(color=POS_COLOR)), decreasing=dict(marker=dict(color=NEG_COLOR)),
        totals=dict(marker=dict(color=SCORE_COLOR)),
        connector=dict(line=dict(color="#b0b8c0", width=1, dash="dot")),
        hovertemplate="%{x}: %{text}<extra></extra>",
    ))
    running = [base]
    for i in order:
        running.append(running[-1] + values[i])
    lo = min(running + [score, 0.0])
    hi = max(running + [score, 0.0])
    pad = 0.15 * max(hi - lo, 1e-12)
    fig.update_layout(
        template=TEMPLATE, margin=dict(l=60, r=20, t=40, b=60), showlegend=False,
        title=dict(text="SHAP waterfall: base value → features → score", x=0.01, font=dict(size=13)),
        yaxis=dict(title="score", range=[lo - pad, hi + pad], zeroline=True, zerolinecolor="#888"),
        xaxis=dict(title=None, tickangle=-30), uirevision=rec["signal_id"],
    )
    return fig
