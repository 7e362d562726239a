"""``tickscope train``: train, evaluate and save a model artifact with its card."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("train", help="train the signal model on packaged data and write an artifact + model card")
    p.add_argument(
        "--data", default="eurusd,goog,btcusd,sp500,nasdaq", help="comma-separated sources (default: all five)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed for weights and batch order (default 0)")
    p.add_argument(
        "--out", type=Path, default=None, help="artifact directory (default: the package's models/artifacts)"
    )
    p.add_argument(
        "--cards", type=Path, default=None, help="model card directory (default: models/cards, or OUT/cards with --out)"
    )
    p.add_argument("--set-default", action="store_true", help="write the new version to models/artifacts/DEFAULT")
    p.add_argument(
        "--max-epochs", type=int, default=30, help="epoch cap; early stopping usually ends sooner (default 30)"
    )
    p.add_argument(
        "--limit-ticks", type=int, default=None, help="use only the first N ticks of each source (smoke tests)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the tqdm progress bar")
    return p


def run(args) -> int:
    from tickscope.marketdata.sources import SourceError
    from tickscope.models.card import CARDS_DIR
    from tickscope.models.registry import PACKAGE_DIR, ModelError
    from tickscope.models.train import TrainConfig, save_result, train_model

    sources = tuple(s.strip() for s in args.data.split(",") if s.strip())
    cfg = TrainConfig(sources=sources, seed=args.seed, max_epochs=args.max_epochs, limit_ticks=args.limit_ticks)
    out = args.out or PACKAGE_DIR
    cards = args.cards or (CARDS_DIR if args.out is None else out / "cards")
    try:
        result = train_model(cfg, progress=not args.no_progress)
        version = save_result(result, out, cards, args.set_default)
    except (SourceError, ModelError, ValueError) as exc:
        print(f"tickscope train: {exc}", file=sys.stderr)
        return 2
    m = result.meta["metrics"]["predictors"]
    print(f"version {version}")
    print(f"artifact {out / (version + '.safetensors')}")
    print(f"card {cards / (version + '.md')}")
    print(f"threshold {result.meta['threshold']:.6f} (q={cfg.threshold_quantile} of |score| on train)")
    for name in ("model", "ridge", "momentum", "drift", "zero"):
        print(
            f"test {name:8s} dir_acc={_f(m[name]['directional_accuracy'])} ic={_f(m[name]['ic'])} "
            f"hit_rate={_f(m[name]['hit_rate'])} n_sig={m[name]['n_significant']}"
        )
    if args.set_default:
        print(f"default -> {version}")
    return 0


def _f(x) -> str:
    return "n/a" if x is None else f"{x:.4f}"
