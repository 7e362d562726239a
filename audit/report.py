"""The offline HTML report of archived signals (``tickscope replay --report`` and the dashboard's report route).

The report is one self-contained file: inline SVG charts, inline CSS, no
script and nothing fetched from a network. Per signal: the window's features
(the model input around the price that fired it), the cell attributions
heatmap, attention, event and feature attributions, quality numbers, the
replay verdict, the model card and the record's inclusion proof in the
signed tree head that covers it.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from plotly.colors import qualitative

from tickscope.audit.heads import HEAD_CONTEXT, Head
from tickscope.audit.merkle import verify_inclusion
from tickscope.contracts.times import iso_utc, now_ms

MAX_REPORT_RECORDS = 200
_PALETTE = qualitative.D3  # one colour per feature, as in the dashboard
iso = iso_utc


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


def _model_card(version: str) -> str | None:
    from tickscope.models.card import CARDS_DIR

    path = Path(CARDS_DIR) / f"{version}.md"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _kv_table(d: dict) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_fmt(v))}</td></tr>" for k, v in d.items())
    return f"<table class='kv'>{rows}</table>"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)


def _proof_html(rec, head: Head | None, proof: list[bytes] | None) -> str:
    if head is None or proof is None:
        return "<p class='bad'>No signed head covers this record.</p>"
    ok = verify_inclusion(rec.seq, head.tree_size, rec.leaf_hash, proof, head.root)
    items = "".join(f"<li><code>{p.hex()}</code></li>" for p in proof)
    return (f"<p class='{'ok' if ok else 'bad'}'>Inclusion proof {'verifies' if ok else 'DOES NOT verify'} "
            f"(RFC 9162 §2.1.3.2): leaf {rec.seq} of {head.tree_size}.</p>"
            + _kv_table({"leaf hash SHA-256(0x00||canonical JSON)": rec.leaf_hash.hex(), "tree size": head.tree_size,
                         "signed root": head.root.hex(), "head time (UTC)": iso(head.timestamp),
                         "key id": head.key_id, "Ed25519 signature": head.signature.hex(),
                         "signed message": f"{HEAD_CONTEXT}\\n{head.tree_size}\\n{head.root.hex()}\\n"
                                           f"{head.timestamp}\\n"})
            + f"<p>Audit path ({len(proof)} hashes, leaf to root):</p><ol class='proof'>{items}</ol>")


def _section(rec, obj: dict, outcome, head, proof, cards: dict) -> str:
    names = obj.get("feature_names") or [f"f{j}" for j in range(len(obj["window"][0]))]
    status = outcome.status if outcome else "not replayed"
    head_bits = {"signal id": obj["signal_id"], "symbol": obj["symbol"], "tick time (UTC)": iso(obj["ts"]),
                 "price": obj["price"], "direction": obj["direction"], "score": obj["score"],
                 "threshold": obj["threshold"], "model version": obj["model_version"], "archive seq": rec.seq,
                 "explainer": obj.get("explainer", {}), "replay": status}
    quality = {"base_value": obj.get("base_value"), "additivity_error": obj.get("additivity_error"),
               "attention_shap_spearman": obj.get("attention_shap_spearman")}
    if isinstance(obj.get("quality"), dict):
        quality.update({f"quality.{k}": v for k, v in obj["quality"].items()})
    details = "".join(f"<li>{_e(d)}</li>" for d in (outcome.details if outcome else []))
    segs = obj.get("segments") or []
    card = cards.setdefault(obj["model_version"], _model_card(obj["model_version"]))
    card_html = (f"<details><summary>Model card {obj['model_version'][:12]}</summary><pre>{_e(card)}</pre></details>"
                 if card else f"<p>No model card for {obj['model_version'][:12]} in models/cards.</p>")
    return (f"<section id='s{_e(obj['signal_id'])}'><h2>{_e(obj['symbol'])} {_e(obj['direction'])} "
            f"at {_e(iso(obj['ts']))} <span class='{status}'>{_e(status)}</span></h2>"
            + _kv_table(head_bits) + (f"<ul class='bad'>{details}</ul>" if details else "")
            + "<h3>Price context: the model input window</h3>"
            + f"<p>The signal fired on the tick at price {obj['price']} (last column); the window holds the scale-free "
              "features of the last ticks that the model saw.</p>"
            + lines_svg(obj["window"], names, "features per time step")
            + "<h3>Attributions</h3>" + heatmap_svg(obj["attributions"], names, "cell SHAP values [T x F]")
            + bars_svg(obj["attention"], [f"t={i}" for i in range(len(obj["attention"]))],
                       "temporal attention (sums to 1)", signed=False)
            + bars_svg(obj.get("event_attributions") or [], [f"{a}-{b}" for a, b in segs],
                       "event (time segment) SHAP")
            + bars_svg(obj.get("feature_attributions") or [], names, "feature SHAP")
            + "<h3>Quality</h3>" + _kv_table(quality)
            + "<h3>Model</h3>" + card_html
            + "<h3>Tamper evidence</h3>" + _proof_html(rec, head, proof) + "</section>")


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table.kv{border-collapse:collapse;margin:.5em 0}table.kv th,table.kv td{border:1px solid #ddd;padding:2px 6px;
text-align:left;font-size:13px;vertical-align:top}table.kv td{font-family:monospace;word-break:break-all}
.reproduced,.ok{color:#1a7f37}.different,.error,.bad{color:#b00020}section{border-top:2px solid #ccc;margin-top:2em}
code{font-size:12px}pre{white-space:pre-wrap;font-size:12px;background:#f6f6f6;padding:1em}"""


def write_report(path: Path, store, records: list, outcomes: dict, summary_line: str, title: str) -> int:
    """Write the report for ``records`` (StoredRecord, at most MAX_REPORT_RECORDS shown); returns how many."""
    from tickscope.audit.merkle import Tree

    shown = records[:MAX_REPORT_RECORDS]
    heads = store.heads()
    leaves = store.leaf_hashes() if shown else []
    last = heads[-1] if heads else None
    tree = Tree(leaves[: last.tree_size]) if last else None
    cards: dict = {}
    rows, sections = [], []
    for rec in shown:
        obj = rec.value()
        o = outcomes.get(rec.seq)
        covered = last is not None and rec.seq < last.tree_size
        proof = tree.inclusion_proof(rec.seq) if covered else None
        sections.append(_section(rec, obj, o, last if covered else None, proof, cards))
        st = o.status if o else "not replayed"
        rows.append(f"<tr><td>{rec.seq}</td><td><a href='#s{_e(rec.signal_id)}'>{_e(rec.signal_id)}</a></td>"
                    f"<td>{_e(rec.symbol)}</td><td>{_e(iso(rec.ts))}</td><td>{_e(obj.get('direction'))}</td>"
                    f"<td>{obj.get('score', 0):.4g}</td><td class='{st}'>{_e(st)}</td></tr>")
    more = (f"<p>Showing the first {len(shown)} of {len(records)} records.</p>" if len(records) > len(shown) else "")
    head_line = (f"Latest signed head: size {last.tree_size}, root <code>{last.root.hex()}</code>, "
                 f"{iso(last.timestamp)}, key {last.key_id}." if last else "The archive has no signed head.")
    doc = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
           f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1><p>Archive: {_e(store.where)}. "
           f"{head_line}</p><p><b>Replay: {_e(summary_line)}</b></p>{more}"
           "<table class='kv'><tr><th>seq</th><th>signal</th><th>symbol</th><th>time (UTC)</th><th>dir</th>"
           f"<th>score</th><th>replay</th></tr>{''.join(rows)}</table>{''.join(sections)}"
           f"<p>Generated {_e(iso(now_ms()))} by tickscope replay; "
           "self-contained, no external resources.</p></body></html>")
    Path(path).write_text(doc, encoding="utf-8")
    return len(shown)
