"""``tickscope model-info``: what a model artifact is, without loading torch weights twice."""

from __future__ import annotations

import json
import sys


def add_parser(sub):
    p = sub.add_parser("model-info", help="show an artifact's architecture, spec, thresholds, data and held-out skill")
    p.add_argument("--version", default=None, help="artifact sha256 (default: the shipped DEFAULT)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


def run(args) -> int:
    from tickscope.models.registry import ModelError, load

    try:
        model = load(args.version)
    except ModelError as exc:
        print(f"tickscope model-info: {exc}", file=sys.stderr)
        return 2
    info = summary(model.version, model.meta)
    print(json.dumps(info, indent=2, sort_keys=True) if args.json else render(info))
    return 0


def summary(version: str, meta: dict) -> dict:
    """The user-facing subset of an artifact's metadata (both kinds: the first model's and newer ones)."""
    from tickscope.models.architecture import architecture_of
    from tickscope.models.spec import ModelSpec

    metrics = meta.get("metrics", {})
    spec = ModelSpec.from_meta(meta)
    return {
        "version": version,
        "schema_version": meta.get("schema_version"),
        "architecture": architecture_of(meta),
        "attention": spec.attention,
        "window_t": meta.get("window_t"),
        "n_features": meta.get("n_features"),
        "feature_function": spec.feature_function,
        "feature_names": meta.get("feature_names"),
        "hidden": meta.get("hidden"),
        "horizon": meta.get("horizon"),
        "output": spec.output,
        "threshold": meta.get("threshold"),
        "thresholds": list(spec.thresholds),
        "threshold_rule": meta.get("threshold_rule") or (
            f"q={meta.get('threshold_quantile')} of |score| on train" if "threshold_quantile" in meta else None),
        "cooldown": spec.cooldown,
        "seed": meta.get("seed"),
        "data": {k: {f: v.get(f) for f in ("rows", "first_ts", "last_ts")} for k, v in meta.get("data", {}).items()},
        "test_metrics": metrics.get("predictors"),
        "skill_vs_best_baseline": (meta.get("skill") or {}).get("vs_best"),
        "best_baseline": (meta.get("skill") or {}).get("best_baseline"),
        "n_test": metrics.get("n_test") or (meta.get("skill") or {}).get("n_test"),
    }


def render(info: dict) -> str:
    arch = info["architecture"]
    lower, upper = info["thresholds"]
    lines = [
        f"version      {info['version']}",
        f"architecture {arch.get('class') or arch.get('entry_point')} {arch.get('kwargs', {})}; "
        f"attention {'yes' if info['attention'] else 'no'}",
        f"input        T={info['window_t']} F={info['n_features']} from {info['feature_function']} "
        f"(horizon {info['horizon']})",
        f"features     {', '.join(info['feature_names'] or [])}",
        f"score        {info['output']}",
        f"thresholds   lower {lower:.6g}, upper {upper:.6g} ({info['threshold_rule']}); cooldown {info['cooldown']}",
        f"seed         {info['seed']}",
    ]
    for name, d in (info["data"] or {}).items():
        lines.append(f"data         {name}: {d['rows']} rows, {d['first_ts']} .. {d['last_ts']}")
    for name, m in (info["test_metrics"] or {}).items():
        lines.append(
            f"test {name:9s}{_ci(m, 'directional_accuracy', 'dir_acc')}  {_ci(m, 'ic', 'ic')}  "
            f"{_ci(m, 'hit_rate', 'hit_rate')} n_sig={m.get('n_significant')}"
        )
    for source, d in sorted((info["skill_vs_best_baseline"] or {}).items(), key=lambda kv: (kv[0] == "pooled", kv[0])):
        cells = "  ".join(f"{k} {_diff(d[k])}" for k in ("mse", "ic", "hit"))
        lines.append(f"test {source:8s} minus {info['best_baseline']}: {cells}")
    if info["test_metrics"] is None and info["skill_vs_best_baseline"] is None:
        lines.append("test         no metrics recorded in this artifact")
    return "\n".join(lines)


def _diff(d: dict) -> str:
    ci = d.get("ci95")
    return f"{d['diff']:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "")


def _ci(m: dict, key: str, label: str) -> str:
    v, ci = m.get(key), m.get(f"{key}_ci95")
    text = "n/a" if v is None else f"{v:.3f}"
    if ci:
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return f"{label}={text}"
