"""The quality numbers of an explanation in words a desk reads, each with a band from the model's reference.

A raw ``faithfulness[0] = 0.41`` tells a reader nothing; "top 8 cells matter
6.2 times more than random cells · typical" does. Each line has a plain label
with its number, a one-line meaning (the page shows it on hover), and a band
against the model version's calibration reference
(``tickscope.detectors.reference``: the same explanations of the model's own
training windows the alert detectors compare with):

- deletion faithfulness (``quality.faithfulness[0]``, top-k vs random-k cells)
  and attention agreement (``attention_shap_spearman``): z = (value - mean) / std
  of the reference; lower is worse. typical: z >= -2; unusual: -3 <= z < -2;
  alarming: z < -3.
- stability (``quality.stability``, local Lipschitz estimate): typical up to the
  reference's p99; unusual up to ``alert_stability_factor`` x its max (where the
  ``instability`` detector alerts); alarming beyond.
- additivity and the score's distance from the baseline: the reference has no
  numbers for them, so their band says "no reference" rather than invent one.

A number the record lacks is "not measured"; a model without attention says so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

TYPICAL, UNUSUAL, ALARMING, NO_REFERENCE, NOT_MEASURED = "typical", "unusual", "alarming", "no reference", \
    "not measured"
UNUSUAL_Z, ALARMING_Z = -2.0, -3.0
_CACHE: dict[Path, tuple[float, dict | None]] = {}


@dataclass(frozen=True)
class QualityLine:
    """One quality number: ``label`` (with the number), ``meaning`` (hover), ``band``, ``raw`` (the fields)."""

    label: str
    meaning: str
    band: str
    raw: str


def load_reference(path: Path) -> dict | None:
    """The reference JSON at ``path`` (re-read when the file changes), or None if missing or unreadable."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        ref = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        ref = None
    ref = ref if isinstance(ref, dict) else None
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[path] = (mtime, ref)
    return ref


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def _first(v) -> float | None:
    return _num(v[0]) if isinstance(v, list) and v else None


def z_band(value: float, stats) -> tuple[str, str]:
    """(band, how it was decided) for a number whose fall is bad, against {"mean", "std"}."""
    mean = _num(stats.get("mean")) if isinstance(stats, dict) else None
    std = _num(stats.get("std")) if isinstance(stats, dict) else None
    if mean is None or std is None or std <= 0:
        return NO_REFERENCE, "the model's reference has no spread for this number"
    z = (value - mean) / std
    band = TYPICAL if z >= UNUSUAL_Z else UNUSUAL if z >= ALARMING_Z else ALARMING
    return band, f"reference {mean:.2f} ± {std:.2f} on training windows; this one is {z:+.1f} sd"


def stability_band(value: float, stats, factor: float) -> tuple[str, str]:
    p99 = _num(stats.get("p99")) if isinstance(stats, dict) else None
    top = _num(stats.get("max")) if isinstance(stats, dict) else None
    if p99 is None or top is None:
        return NO_REFERENCE, "the model's reference has no stability numbers"
    band = TYPICAL if value <= p99 else UNUSUAL if value <= factor * top else ALARMING
    return band, f"training windows: p99 {p99:.3g}, max {top:.3g}; alert above {factor:g} x max"


def _faithfulness(q: dict, ref: dict | None) -> QualityLine:
    ks, top, rand, faith = q.get("deletion_k"), _first(q.get("deletion_top")), _first(q.get("deletion_random")), \
        _first(q.get("faithfulness"))
    k = ks[0] if isinstance(ks, list) and ks and isinstance(ks[0], int) else "k"
    if faith is None or top is None or rand is None:
        return QualityLine(f"top {k} cells vs random cells: not measured", "the record has no deletion test",
                           NOT_MEASURED, f"faithfulness {q.get('faithfulness')!r}"[:120])
    if rand > 0:
        label = f"top {k} cells matter {top / rand:.1f} times more than random cells"
    else:
        label = f"top {k} cells remove {top:.0%} of the signal, random cells none"
    band, how = z_band(faith, (ref or {}).get("faithfulness")) if ref else (NO_REFERENCE, "no reference file")
    meaning = (f"Setting the {k} cells with the largest SHAP values to the baseline removes {top:.0%} of the "
               f"score's distance from the baseline; {k} random cells remove {rand:.0%}. {how}.")
    return QualityLine(label, meaning, band, f"faithfulness {faith:.3f} = top {top:.3f} - random {rand:.3f}")


def _stability(rec: dict, q: dict, ref: dict | None, factor: float) -> QualityLine:
    value, eps = _num(q.get("stability")), _num(q.get("stability_eps"))
    phi = [v for v in (_num(x) for x in rec.get("feature_attributions") or []) if v is not None]
    norm = math.sqrt(sum(v * v for v in phi))
    cells = len(rec.get("attributions") or []) * len(rec.get("feature_names") or [])
    if value is None or eps is None or norm <= 0 or cells == 0:
        return QualityLine("stability: not measured", "the record has no stability estimate", NOT_MEASURED,
                           f"stability {q.get('stability')!r}"[:120])
    moves = value * eps * math.sqrt(cells) / norm  # |d phi| / |phi| for a nudge of eps on every cell
    band, how = stability_band(value, (ref or {}).get("stability"), factor) if ref else (NO_REFERENCE,
                                                                                          "no reference file")
    meaning = (f"Nudging every input by {eps:g} (feature units, random directions) moves the feature "
               f"explanation by about {moves:.1%} of its size. {how}.")
    return QualityLine(f"explanation moves {moves:.1%} under a {eps:.0%} nudge", meaning, band,
                       f"stability {value:.4g} (score per feature unit), eps {eps:g}")


def _attention(rec: dict, ref: dict | None) -> QualityLine:
    if rec.get("attention") is None:
        return QualityLine("this model has no attention", "The model exposes no attention weights, so there is "
                           "nothing to compare with SHAP.", NOT_MEASURED, "attention null")
    rho = _num(rec.get("attention_shap_spearman"))
    if rho is None:
        return QualityLine("attention vs SHAP: not measured", "the record has no rank correlation", NOT_MEASURED,
                           "attention_shap_spearman null")
    verb = "agrees with" if rho >= 0.5 else "partly agrees with" if rho >= 0.2 else \
        "is unrelated to" if rho > -0.2 else "disagrees with"
    band, how = z_band(rho, (ref or {}).get("attention_shap_spearman")) if ref else (NO_REFERENCE,
                                                                                       "no reference file")
    meaning = (f"Spearman rank correlation between the attention per time step and |SHAP| per time step: "
               f"{rho:.2f} (1 = same order). {how}.")
    return QualityLine(f"attention {verb} SHAP (rank correlation {rho:.2f})", meaning, band,
                       f"attention_shap_spearman {rho:.3f}")


def _additivity(rec: dict, q: dict) -> QualityLine:
    err = _num(rec.get("additivity_error"))
    levels = q.get("additivity") if isinstance(q.get("additivity"), dict) else {}
    raw = ", ".join(f"{k} {_num(v):.1e}" for k, v in sorted(levels.items()) if _num(v) is not None)
    label = "SHAP values add up to the score" + (f" (off by {err:.1e})" if err is not None else "")
    return QualityLine(label, "base value + the sum of the SHAP values, minus the score, per level; exact "
                       "games are off only by rounding.", NO_REFERENCE, raw or "no per-level numbers")


def quality_lines(rec: dict, ref: dict | None, stability_factor: float = 3.0) -> list[QualityLine]:
    """The readable quality lines of one archive record against its model's reference (None: no file)."""
    q = rec.get("quality") if isinstance(rec.get("quality"), dict) else {}
    lines = [_faithfulness(q, ref), _stability(rec, q, ref, stability_factor), _attention(rec, ref),
             _additivity(rec, q)]
    scale = _num(q.get("deletion_scale"))
    if scale is not None:
        lines.append(QualityLine(f"score is {scale:.3g} away from the baseline", "|f(x) - f(baseline)|: how far "
                                 "the signal's score is from the model's output on the baseline window.",
                                 NO_REFERENCE, f"deletion_scale {scale:.4g}"))
    return lines
