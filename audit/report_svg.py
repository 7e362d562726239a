"""The report's inline SVG charts: heatmap, bars and lines, every label escaped, every value a validated number."""

from __future__ import annotations

import html

from plotly.colors import qualitative

_PALETTE = qualitative.D3  # one colour per feature, as in the dashboard


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _color(v: float, scale: float) -> str:
    """Diverging blue (negative) - white - red (positive)."""
    t = 0.0 if scale <= 0 else max(-1.0, min(1.0, v / scale))
    if t >= 0:
        g = int(255 * (1 - t))
        return f"rgb(255,{g},{g})"
    g = int(255 * (1 + t))
    return f"rgb({g},{g},255)"


def heatmap_svg(values: list[list[float]], row_names: list[str], title: str) -> str:
    """values [T][F] drawn with features as rows and time steps as columns."""
    t, f = len(values), len(row_names)
    cw, ch, left, top = 16, 18, 80, 22
    scale = max((abs(v) for row in values for v in row), default=0.0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + cw * t + 10}" height="{top + ch * f + 24}" '
             f'role="img" aria-label="{_e(title)}"><text x="0" y="14" font-size="12">{_e(title)} '
             f'(scale ±{scale:.3g})</text>']
    for j, name in enumerate(row_names):
        y = top + j * ch
        parts.append(f'<text x="{left - 4}" y="{y + 13}" font-size="11" text-anchor="end">{_e(name)}</text>')
        for i in range(t):
            v = values[i][j]
            parts.append(f'<rect x="{left + i * cw}" y="{y}" width="{cw - 1}" height="{ch - 1}" '
                         f'fill="{_color(v, scale)}"><title>t={i} {_e(name)}: {v:.4g}</title></rect>')
    parts.append(f'<text x="{left}" y="{top + ch * f + 16}" font-size="11">t=0 (oldest)</text>'
                 f'<text x="{left + cw * t}" y="{top + ch * f + 16}" font-size="11" text-anchor="end">'
                 f't={t - 1} (signal tick)</text></svg>')
    return "".join(parts)


def bars_svg(values: list[float], labels: list[str] | None, title: str, signed: bool = True) -> str:
    n = len(values)
    bw, h, left, top = max(8, min(40, 520 // max(n, 1))), 90, 40, 20
    scale = max((abs(v) for v in values), default=0.0) or 1.0
    zero = top + (h / 2 if signed else h)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + bw * n + 10}" height="{top + h + 30}" '
             f'role="img" aria-label="{_e(title)}"><text x="0" y="14" font-size="12">{_e(title)}</text>',
             f'<line x1="{left}" x2="{left + bw * n}" y1="{zero}" y2="{zero}" stroke="#999"/>']
    for i, v in enumerate(values):
        length = abs(v) / scale * (h / 2 if signed else h)
        y = zero - length if v >= 0 else zero
        fill = "#d62728" if v >= 0 else "#1f77b4"
        if not signed:
            fill = "#555"
        label = labels[i] if labels else str(i)
        parts.append(f'<rect x="{left + i * bw}" y="{y:.1f}" width="{bw - 2}" height="{max(length, 0.5):.1f}" '
                     f'fill="{fill}"><title>{_e(label)}: {v:.4g}</title></rect>')
        if labels and n <= 12:
            parts.append(f'<text x="{left + i * bw + bw / 2}" y="{top + h + 14}" font-size="10" '
                         f'text-anchor="middle">{_e(label[:10])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines_svg(window: list[list[float]], names: list[str], title: str) -> str:
    """Each feature column of the window as a line over the T steps (shared y axis)."""
    t = len(window)
    w, h, left, top = 520, 140, 40, 20
    vals = [v for row in window for v in row]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    span = (hi - lo) or 1.0

    def xy(i, v):
        return left + i * (w - left) / max(t - 1, 1), top + h - (v - lo) / span * h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 130}" height="{top + h + 24}" role="img" '
             f'aria-label="{_e(title)}"><text x="0" y="14" font-size="12">{_e(title)}</text>',
             f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{hi:.2g}</text>',
             f'<text x="{left - 4}" y="{top + h}" font-size="10" text-anchor="end">{lo:.2g}</text>']
    for j, name in enumerate(names):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, window[i][j]) for i in range(t)))
        c = _PALETTE[j % len(_PALETTE)]
        parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{pts}">'
                     f'<title>{_e(name)}</title></polyline>'
                     f'<text x="{w + 8}" y="{top + 10 + 14 * j}" font-size="11" fill="{c}">{_e(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


