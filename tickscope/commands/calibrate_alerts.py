"""``tickscope calibrate-alerts``: the training reference the alert detectors compare against.

The reference of a model version is what its explanations look like on the
data it was trained on: the significant training windows (|score| >
threshold, as the gate would fire them) are explained exactly as the worker
does (``streams.explain.explain``, seed from a synthetic signal id) and
summarised as mean feature / segment shares, the mean and standard deviation
of deletion faithfulness (top-8 cells) and of attention-SHAP agreement, the
largest per-signal stability estimate, and the local Lipschitz radius / bound
(docs/alerts.md). It is deterministic (same artifact -> same JSON) and is
shipped for the default model as ``models/cards/<version>.reference.json``;
for other versions it is written to ``$TICKSCOPE_DATA_DIR/models``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

REFERENCE_SCHEMA_VERSION = 1
CARDS_DIR = Path(__file__).resolve().parents[2] / "models" / "cards"
DEFAULT_SAMPLE = 400  # explained training windows (~7.5 ms each)
RADIUS_QUANTILE = 0.01  # neighbour radius: this quantile of pairwise input distances among reference windows


def add_parser(sub):
    p = sub.add_parser("calibrate-alerts", help="compute the alert detectors' training reference of a model version")
    p.add_argument("--version", default=None, help="model artifact sha256 (default: the shipped DEFAULT)")
    p.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help=f"training windows explained (default {DEFAULT_SAMPLE})")
    p.add_argument("--out", default=None, help="output file (default models/cards/<version>.reference.json)")
    return p


def run(args) -> int:
    from models.registry import ModelError, load

    try:
        model = load(args.version)
    except ModelError as exc:
        print(f"tickscope calibrate-alerts: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else CARDS_DIR / f"{model.version}.reference.json"
    ref = build_reference(model, args.sample)
    save_reference(ref, out)
    print(f"wrote {out}: {ref['n']} explained training windows, top features {ref['top_features'][:3]}")
    return 0


def reference_path(version: str, data_dir: Path | None = None) -> Path:
    """Where the reference of ``version`` lives: the package cards, else ``data_dir/models``."""
    packaged = CARDS_DIR / f"{version}.reference.json"
    if packaged.exists() or data_dir is None:
        return packaged
    return Path(data_dir) / "models" / f"{version}.reference.json"


def reference_for(model, data_dir: Path | None = None) -> dict:
    """The model version's reference; built (a few seconds) and saved under data_dir when missing."""
    path = reference_path(model.version, data_dir)
    if path.exists():
        ref = json.loads(path.read_text(encoding="utf-8"))
        if ref.get("model_version") == model.version:
            return ref
    ref = build_reference(model)
    if data_dir is not None:
        save_reference(ref, Path(data_dir) / "models" / f"{model.version}.reference.json")
    return ref


def save_reference(ref: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(ref, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def significant_training_windows(model, sample: int) -> np.ndarray:
    """Up to ``sample`` windows of the training split with |score| > threshold, evenly spaced, in data order."""
    from models.train import TrainConfig, build_splits, load_rows, predict

    sources = tuple(model.meta.get("data", {})) or TrainConfig.sources
    splits, _ = build_splits(load_rows(TrainConfig(sources=sources)), int(model.meta.get("horizon", 8)))
    windows = splits["train"].windows
    scores = predict(model.net, windows)
    picked = windows[np.abs(scores) > model.threshold]
    if len(picked) > sample:
        picked = picked[np.linspace(0, len(picked) - 1, sample).round().astype(int)]
    return picked


def explain_windows(model, windows: np.ndarray) -> list:
    from streams.explain import explain
    from streams.records import seed_for

    base = model.baseline.numpy()
    return [explain(model.net, w, base, seed_for(f"reference|{model.version}|{i}")) for i, w in enumerate(windows)]


def _mean_std(values) -> dict:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)), "n": int(len(v))}


def lipschitz_calibration(windows: np.ndarray, phis: np.ndarray, quantile: float = RADIUS_QUANTILE) -> dict:
    """Radius = ``quantile`` of pairwise input distances (feature units); bound = the largest
    ||phi_a - phi_b|| / ||x_a - x_b|| over reference pairs within it (score per feature unit)."""
    x = windows.reshape(len(windows), -1).astype(np.float64)
    d = np.sqrt(np.maximum(((x[:, None] - x[None]) ** 2).sum(-1), 0))
    iu = np.triu_indices(len(x), 1)
    radius = float(np.quantile(d[iu], quantile))
    near = (d[iu] > 0) & (d[iu] < radius)
    dphi = np.linalg.norm(phis[iu[0]] - phis[iu[1]], axis=1)
    ratios = dphi[near] / d[iu][near]
    return {"radius": radius, "max_ratio": float(ratios.max()), "median_ratio": float(np.median(ratios)),
            "pairs": int(near.sum()), "radius_quantile": quantile}


def build_reference(model, sample: int = DEFAULT_SAMPLE) -> dict:
    from streams import drift

    windows = significant_training_windows(model, sample)
    expl = explain_windows(model, windows)
    fs = np.stack([drift.shares(e.features) for e in expl if drift.shares(e.features) is not None])
    gs = np.stack([drift.shares(e.events) for e in expl if drift.shares(e.events) is not None])
    stab = np.asarray([e.quality["stability"] for e in expl if e.quality.get("stability") is not None])
    names = list(model.feature_names)
    return {
        "schema_version": REFERENCE_SCHEMA_VERSION,
        "model_version": model.version,
        "method": "explained significant training windows (|score| > threshold), evenly spaced; streams.explain defaults",
        "n": len(expl),
        "feature_names": names,
        "feature_shares": fs.mean(0).tolist(),
        "feature_shares_std": fs.std(0, ddof=1).tolist(),
        "segment_shares": gs.mean(0).tolist(),
        "top_features": [names[i] for i in drift.ranking(fs.mean(0))],
        "faithfulness": _mean_std((e.quality.get("faithfulness") or [None])[0] for e in expl),
        "attention_shap_spearman": _mean_std(e.attention_shap_spearman for e in expl),
        "stability": {"max": float(stab.max()), "p99": float(np.quantile(stab, 0.99)), "median": float(np.median(stab))},
        "lipschitz": lipschitz_calibration(windows, np.stack([e.features for e in expl])),
    }


# ------------------------------------------------------------ measurement (`tickscope bench alerts`)

INJECTIONS = ("trend", "nosize", "vol3")  # regime changes spliced into a real series at ``cut``
REAL_SOURCES = ("eurusd", "sp500", "nasdaq", "goog")


def explain_stream(model, rows, symbol: str, cooldown: int = 8) -> list:
    """Real archive records of a tick series: the worker's SignalDetector + explain + archive_record, offline."""
    from streams.archive import archive_record, baseline_sha256
    from streams.explain import ExplainConfig, explain
    from streams.feed import tick_json
    from streams.ingest import Source
    from streams.records import seed_for
    from streams.signals import Message, SignalDetector

    base, config = model.baseline.numpy(), ExplainConfig()
    detector, out = SignalDetector(model, cooldown, 4096), []
    msgs = [Message(symbol.encode(), tick_json(symbol, r), Source("ticks", 0, i)) for i, r in enumerate(rows)]
    for i in range(0, len(msgs), 256):
        for sig in detector.process(msgs[i : i + 256], now_ms=0).signals:
            seed = seed_for(sig.signal_id)
            expl = explain(model.net, np.asarray(sig.window, dtype=np.float32), base, seed, config)
            out.append(archive_record(sig, expl, config, seed, baseline_sha256(base), sig.ts))
    return out


def inject(rows, cut: int, kind: str) -> list:
    """``rows`` with a regime change from index ``cut`` on (same timestamps, prices rebuilt from returns):

    - ``trend``: every log return gets +0.7 x the series' return std (a persistent trend; momentum drives);
    - ``nosize``: the size (volume) field disappears (a feed change; size_z goes to 0);
    - ``vol3``: returns are tripled (volatility triples; the features are volatility-scaled, so the
      model and its explanations see the same windows: detectors must stay silent).
    """
    from streams.sources import TickRow

    r = np.diff(np.log([x.price for x in rows]))[cut - 1 :]
    sizes = [x.size for x in rows[cut:]]
    if kind == "trend":
        r = r + 0.7 * np.std(np.diff(np.log([x.price for x in rows[:cut]])))
    elif kind == "vol3":
        r = 3.0 * r
    elif kind == "nosize":
        sizes = [None] * len(sizes)
    else:
        raise ValueError(f"unknown injection {kind!r}; known: {INJECTIONS}")
    prices = rows[cut - 1].price * np.exp(np.cumsum(r))
    return list(rows[:cut]) + [TickRow(rows[cut + i].ts, float(p), s) for i, (p, s) in enumerate(zip(prices, sizes))]


def run_engine(records, reference, params=None) -> list:
    """(index of the record that raised it, Alert) for every alert of a fresh engine over ``records``."""
    from streams.alerts import AlertEngine, AlertParams

    engine = AlertEngine(reference, params or AlertParams())
    return [(i, a) for i, rec in enumerate(records) for a in engine.observe(rec, rec.ts)]


def stationary_bootstrap(records, n: int, mean_block: float, seed: int) -> list:
    """n records resampled in blocks of geometric length (Politis & Romano 1994), with fresh signal ids."""
    rng, out = np.random.default_rng(seed), []
    while len(out) < n:
        start = int(rng.integers(len(records)))
        for j in range(int(rng.geometric(1.0 / mean_block))):
            rec = records[(start + j) % len(records)]
            out.append(rec.model_copy(update={"signal_id": f"boot{seed}-{len(out)}", "ts": len(out)}))
    return out[:n]


def measure(model, reference, params=None, cut: int = 2500) -> dict:
    """False alarms on real series and their bootstrap, and detection delays (signals) after injections."""
    from streams.sources import load_source

    real = {s: explain_stream(model, load_source(s), s.upper()) for s in REAL_SOURCES}
    stationary = {s: len(run_engine(recs, reference, params)) for s, recs in real.items()}
    n_boot, boot = 10_000, {}
    for s, recs in real.items():
        alerts = run_engine(stationary_bootstrap(recs, n_boot, 8.0, seed=0), reference, params)
        boot[s] = {"alerts": len(alerts), "kinds": sorted({a.kind for _, a in alerts})}
    rows = load_source("eurusd")
    delays = {}
    for kind in INJECTIONS:
        recs = explain_stream(model, inject(rows, cut, kind), "EURUSD")
        first = next((i for i, r in enumerate(recs) if r.ts >= rows[cut].ts), len(recs))
        alerts = run_engine(recs, reference, params)
        before = [a.kind for i, a in alerts if i < first]
        after = [(i - first + 1, a.kind, a.symbol) for i, a in alerts if i >= first]
        delays[kind] = {"signals_before": first, "signals_after": len(recs) - first, "alerts_before": before,
                        "first_alerts_after": after[:4]}
    return {"real_signals": {s: len(r) for s, r in real.items()}, "real_alerts": stationary,
            "bootstrap_signals_per_source": n_boot, "bootstrap_alerts": boot, "injections": delays}


def bench_cli(args) -> int:
    from models.registry import load

    model = load(args.version)
    figures = measure(model, reference_for(model))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print("method: real packaged series -> SignalDetector -> explain -> AlertEngine (defaults); "
          "false alarms per 10,000 signals from a stationary block bootstrap (mean block 8) of each series' records")
    for s, n in figures["real_signals"].items():
        b = figures["bootstrap_alerts"][s]
        print(f"{s:7s} real signals {n:4d} alerts {figures['real_alerts'][s]}  |  bootstrap alerts per 10,000: {b['alerts']} {b['kinds']}")
    for kind, d in figures["injections"].items():
        print(f"inject {kind:7s} at tick 2500: {d['signals_before']} signals before (alerts {d['alerts_before']}), "
              f"{d['signals_after']} after; first alerts (delay in signals, kind, symbol): {d['first_alerts_after']}")
    return 0
