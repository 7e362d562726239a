"""``tickscope model-info``: what a model artifact is, without loading torch weights twice."""

from __future__ import annotations

import json
import sys


def add_parser(sub):
    p = sub.add_parser("model-info", help="show a model artifact's shape, features, threshold, data and metrics")
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
    """The user-facing subset of an artifact's metadata."""
    metrics = meta.get("metrics", {})
    return {
        "version": version,
        "schema_version": meta.get("schema_version"),
        "window_t": meta.get("window_t"),
        "n_features": meta.get("n_features"),
        "feature_names": meta.get("feature_names"),
        "hidden": meta.get("hidden"),
        "horizon": meta.get("horizon"),
        "threshold": meta.get("threshold"),
        "threshold_quantile": meta.get("threshold_quantile"),
        "seed": meta.get("seed"),
        "data": {k: {f: v.get(f) for f in ("rows", "first_ts", "last_ts")} for k, v in meta.get("data", {}).items()},
        "test_metrics": metrics.get("predictors"),
        "n_test": metrics.get("n_test"),
    }


def render(info: dict) -> str:
    lines = [
        f"version      {info['version']}",
        f"input        T={info['window_t']} F={info['n_features']} "
        f"(hidden {info['hidden']}, horizon {info['horizon']})",
        f"features     {', '.join(info['feature_names'] or [])}",
        f"threshold    {info['threshold']} (q={info['threshold_quantile']} of |score| on train)",
        f"seed         {info['seed']}",
    ]
    for name, d in (info["data"] or {}).items():
        lines.append(f"data         {name}: {d['rows']} rows, {d['first_ts']} .. {d['last_ts']}")
    for name, m in (info["test_metrics"] or {}).items():
        lines.append(
            f"test {name:9s}{_ci(m, 'directional_accuracy', 'dir_acc')}  {_ci(m, 'ic', 'ic')}  "
            f"{_ci(m, 'hit_rate', 'hit_rate')} n_sig={m.get('n_significant')}"
        )
    if info["test_metrics"] is None:
        lines.append("test         no metrics recorded in this artifact")
    return "\n".join(lines)


def _ci(m: dict, key: str, label: str) -> str:
    v, ci = m.get(key), m.get(f"{key}_ci95")
    text = "n/a" if v is None else f"{v:.3f}"
    if ci:
        text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return f"{label}={text}"
