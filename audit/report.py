"""The offline HTML report of archived signals (``tickscope replay --report`` and the dashboard's report route).

The report is one self-contained document: inline SVG charts, one inline
stylesheet, no script and nothing fetched from a network. Per signal: the
window's features (the model input around the price that fired it), the cell
attributions heatmap, attention, event and feature attributions, quality
numbers, the replay verdict, the model card and the record's inclusion proof in
the signed tree head that covers it.

It shows what the archive holds and never runs it: every record is validated
against its schema before it is drawn (one that does not validate is listed
with the reason, not drawn), every field is HTML-escaped, and the document
carries a Content-Security-Policy that allows no script at all and no style but
its own stylesheet (by hash), so neither a ``<script>`` nor inline CSS from a
record could act even if escaping failed. A server sending the report (the
dashboard's report route) must send ``REPORT_CSP`` as its
``Content-Security-Policy`` header; the offline file carries ``REPORT_CSP_META``
in a ``<meta http-equiv>`` tag.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from tickscope.audit.heads import HEAD_CONTEXT, Head
from tickscope.audit.merkle import verify_inclusion
from tickscope.audit.report_svg import _e, bars_svg, heatmap_svg, lines_svg
from tickscope.contracts.times import iso_utc, now_ms

MAX_REPORT_RECORDS = 200
_HEX64 = re.compile(r"[0-9a-f]{64}")


def iso(ms) -> str:
    """UTC time of epoch ms, or the number itself when no calendar can show it."""
    try:
        return iso_utc(ms)
    except (ValueError, OverflowError, OSError, TypeError):
        return str(ms)


def _model_card(version: str) -> str | None:
    """The card of a model version: only a sha256 names a file, and only inside a cards directory (the shipped
    models' and, for a registered model, ``cards`` beside its artifact on the serving search path)."""
    from tickscope.models.card import CARDS_DIR
    from tickscope.models.registry import search_dirs

    if not isinstance(version, str) or not _HEX64.fullmatch(version):
        return None
    for folder in [Path(CARDS_DIR)] + [d / "cards" for d in search_dirs()]:
        cards = folder.resolve()
        path = (cards / f"{version}.md").resolve()
        if path.parent != cards:
            continue
        try:
            return path.read_text(encoding="utf-8")
        except OSError:
            continue
    return None


def _attention_html(attention) -> str:
    if attention is None:
        return "<p>Temporal attention: none (this model has no attention; its record holds null).</p>"
    return bars_svg(attention, [f"t={i}" for i in range(len(attention))], "temporal attention (sums to 1)",
                    signed=False)


def _kv_table(d: dict) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_fmt(v))}</td></tr>" for k, v in d.items())
    return f"<table class='kv'>{rows}</table>"


def _fmt(v) -> str:
    if isinstance(v, bool):
        return str(v)
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




_STATUS_CLASS = {"reproduced": "ok", "different": "bad", "error": "bad", "not_reproducible": "bad",
                 "not replayed": "note"}


def _status_html(status: str) -> str:
    return f"<span class='{_STATUS_CLASS.get(status, 'bad')}'>{_e(status)}</span>"


def shown_value(rec) -> tuple[dict | None, str]:
    """(the record's value, "") if it validates against its schema, else (None, why it is not drawn)."""
    from tickscope.audit.intake import check_record, decode_json
    from tickscope.contracts.dead_letters import Rejected

    try:
        obj = decode_json(rec.body)
        check_record(obj)
        return obj, ""
    except Rejected as exc:
        return None, f"{exc.reason}: {exc.detail}"
    except Exception as exc:  # noqa: BLE001 - whatever the body holds, the report lists it instead of failing
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def _invalid_section(rec, why: str, outcome) -> str:
    status = outcome.status if outcome else "not replayed"
    return (f"<section id='s{_e(rec.seq)}'><h2>Archive seq {_e(rec.seq)} {_status_html(status)}</h2>"
            f"<p class='bad'>This record is not drawn: it does not validate against the archive record schema "
            f"({_e(why)}).</p>" + _kv_table({"signal id (index column)": rec.signal_id, "symbol (index column)":
                                             rec.symbol, "schema_version (index column)": rec.schema_version,
                                             "leaf hash": rec.leaf_hash.hex()}) + "</section>")


def _section(rec, obj: dict, outcome, head, proof, cards: dict) -> str:
    names = obj["feature_names"]
    status = outcome.status if outcome else "not replayed"
    head_bits = {"signal id": obj["signal_id"], "symbol": obj["symbol"], "tick time (UTC)": iso(obj["ts"]),
                 "price": obj["price"], "direction": obj["direction"], "score": obj["score"],
                 "threshold": obj["threshold"], "model version": obj["model_version"], "archive seq": rec.seq,
                 "explainer": obj["explainer"], "replay": status}
    quality = {"base_value": obj["base_value"], "additivity_error": obj["additivity_error"],
               "attention_shap_spearman": obj["attention_shap_spearman"]}
    quality.update({f"quality.{k}": v for k, v in obj["quality"].items()})
    details = "".join(f"<li>{_e(d)}</li>" for d in (outcome.details if outcome else []))
    version = obj["model_version"]
    card = cards.setdefault(version, _model_card(version))
    card_html = (f"<details><summary>Model card {_e(version[:12])}</summary><pre>{_e(card)}</pre></details>"
                 if card else f"<p>No model card for {_e(version[:12])} in the cards directories.</p>")
    return (f"<section id='s{_e(obj['signal_id'])}'><h2>{_e(obj['symbol'])} {_e(obj['direction'])} "
            f"at {_e(iso(obj['ts']))} {_status_html(status)}</h2>"
            + _kv_table(head_bits) + (f"<ul class='bad'>{details}</ul>" if details else "")
            + "<h3>Price context: the model input window</h3>"
            + f"<p>The signal fired on the tick at price {_e(obj['price'])} (last column); the window holds the "
              "scale-free features of the last ticks that the model saw.</p>"
            + lines_svg(obj["window"], names, "features per time step")
            + "<h3>Attributions</h3>" + heatmap_svg(obj["attributions"], names, "cell SHAP values [T x F]")
            + _attention_html(obj["attention"])
            + bars_svg(obj["event_attributions"], [f"{a}-{b}" for a, b in obj["segments"]],
                       "event (time segment) SHAP")
            + bars_svg(obj["feature_attributions"], names, "feature SHAP")
            + "<h3>Quality</h3>" + _kv_table(quality)
            + "<h3>Model</h3>" + card_html
            + "<h3>Tamper evidence</h3>" + _proof_html(rec, head, proof) + "</section>")


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table.kv{border-collapse:collapse;margin:.5em 0}table.kv th,table.kv td{border:1px solid #ddd;padding:2px 6px;
text-align:left;font-size:13px;vertical-align:top}table.kv td{font-family:monospace;word-break:break-all}
.ok{color:#1a7f37}.bad{color:#b00020}.note{color:#555}section{border-top:2px solid #ccc;margin-top:2em}
code{font-size:12px}pre{white-space:pre-wrap;font-size:12px;background:#f6f6f6;padding:1em}"""
_CSS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
# The policy: nothing may load or run; the one stylesheet is allowed by its hash (no other inline style applies).
REPORT_CSP_META = (f"default-src 'none'; script-src 'none'; style-src '{_CSS_HASH}'; img-src data:; "
                   "base-uri 'none'; form-action 'none'")
REPORT_CSP = REPORT_CSP_META + "; frame-ancestors 'none'"  # frame-ancestors only works as an HTTP header


def _row(rec, obj: dict | None, outcome) -> str:
    st = outcome.status if outcome else "not replayed"
    anchor = obj["signal_id"] if obj else rec.seq
    score = f"{obj['score']:.4g}" if obj else "-"
    direction = obj["direction"] if obj else "-"
    return (f"<tr><td>{_e(rec.seq)}</td><td><a href='#s{_e(anchor)}'>{_e(rec.signal_id)}</a></td>"
            f"<td>{_e(rec.symbol)}</td><td>{_e(iso(rec.ts))}</td>"
            f"<td>{_e(direction)}</td><td>{_e(score)}</td><td>{_status_html(st)}</td></tr>")


def render_report(store, records: list, outcomes: dict, summary_line: str, title: str) -> str:
    """The report for ``records`` (StoredRecord, at most MAX_REPORT_RECORDS shown) as one HTML string."""
    from tickscope.audit.merkle import Tree

    shown = records[:MAX_REPORT_RECORDS]
    heads = store.heads()
    leaves = store.leaf_hashes() if shown else []
    last = heads[-1] if heads else None
    tree = Tree(leaves[: last.tree_size]) if last and last.tree_size <= len(leaves) else None
    cards: dict = {}
    rows, sections = [], []
    for rec in shown:
        obj, why = shown_value(rec)
        o = outcomes.get(rec.seq)
        rows.append(_row(rec, obj, o))
        if obj is None:
            sections.append(_invalid_section(rec, why, o))
            continue
        covered = tree is not None and rec.seq < last.tree_size
        proof = tree.inclusion_proof(rec.seq) if covered else None
        sections.append(_section(rec, obj, o, last if covered else None, proof, cards))
    more = (f"<p>Showing the first {len(shown)} of {len(records)} records.</p>" if len(records) > len(shown) else "")
    head_line = (f"Latest signed head: size {_e(last.tree_size)}, root <code>{_e(last.root.hex())}</code>, "
                 f"{_e(iso(last.timestamp))}, key {_e(last.key_id)}." if last else "The archive has no signed head.")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{REPORT_CSP_META}\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><h1>{_e(title)}</h1>"
            f"<p>Archive: {_e(store.where)}. {head_line}</p><p><b>Replay: {_e(summary_line)}</b></p>{more}"
            "<table class='kv'><tr><th>seq</th><th>signal</th><th>symbol</th><th>time (UTC)</th><th>dir</th>"
            f"<th>score</th><th>replay</th></tr>{''.join(rows)}</table>{''.join(sections)}"
            f"<p>Generated {_e(iso(now_ms()))} by tickscope replay; "
            "self-contained, no external resources, no script.</p></body></html>")


def write_report(path: Path, store, records: list, outcomes: dict, summary_line: str, title: str) -> int:
    """Write ``render_report`` to ``path``; returns how many records it shows."""
    Path(path).write_text(render_report(store, records, outcomes, summary_line, title), encoding="utf-8")
    return len(records[:MAX_REPORT_RECORDS])
