"""``tickscope train``: train, evaluate and save a model artifact with its card (models.train)."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub):
    from tickscope.models.architecture import BUILTIN
    from tickscope.models.dataset import TARGETS
    from tickscope.models.train import TrainConfig

    p = sub.add_parser("train", help="train a signal model on packaged data and write an artifact + model card")
    p.add_argument("--data", default=",".join(TrainConfig.sources),
                   help=f"comma-separated sources (default {','.join(TrainConfig.sources)})")
    p.add_argument("--arch", choices=sorted(BUILTIN), default=TrainConfig.arch,
                   help=f"architecture (default {TrainConfig.arch}; tcn has no attention)")
    p.add_argument("--target", choices=sorted(TARGETS), default=TrainConfig.target,
                   help=f"what the score forecasts (default {TrainConfig.target}; docs/models.md)")
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
    cfg = TrainConfig(sources=sources, seed=args.seed, arch=args.arch, target=args.target,
                      max_epochs=args.max_epochs, limit_ticks=args.limit_ticks)
    out = args.out or PACKAGE_DIR
    cards = args.cards or (CARDS_DIR if args.out is None else out / "cards")
    try:
        result = train_model(cfg, progress=not args.no_progress)
        version = save_result(result, out, cards, args.set_default)
    except (SourceError, ModelError, ValueError) as exc:
        print(f"tickscope train: {exc}", file=sys.stderr)
        return 2
    meta = result.meta
    skill = meta["skill"]
    print(f"version {version}")
    print(f"artifact {out / (version + '.safetensors')}")
    print(f"card {cards / (version + '.md')}")
    print(f"thresholds lower {meta['threshold_low']:.6f} upper {meta['threshold_high']:.6f} ({meta['threshold_rule']})")
    print(f"test: model minus the best trivial baseline ({skill['best_baseline']}), paired 95% intervals:")
    for source, d in sorted(skill["vs_best"].items(), key=lambda kv: (kv[0] == "pooled", kv[0])):
        cells = (f"{m} {_f(d[m]['diff'])} {_ci(d[m]['ci95'])}" for m in ("mse", "ic", "hit"))
        print(f"  {source:7s} " + "  ".join(cells))
    for source, r in sorted(meta["signals"].items()):
        if "gated_long" in r:
            print(f"  {source:7s} gated long {r['gated_long']} short {r['gated_short']}")
    if args.set_default:
        print(f"default -> {version}")
    return 0


def _f(x) -> str:
    return "n/a" if x is None else f"{x:+.4f}"


def _ci(ci) -> str:
    return "[no interval]" if not ci else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]"
