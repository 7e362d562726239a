"""``tickscope model register|list``: bring a desk's own model, and see every version the pipeline can serve."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("model", help="register a model artifact (checks + card), or list the versions",
                       description="A model is a torch module class (tickscope's, an entry point of the group "
                                   "tickscope.models, or a package listed in TICKSCOPE_MODEL_MODULES), its weights "
                                   "(safetensors) and a spec (JSON). docs/models.md says what each part means.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    reg = verbs.add_parser("register", help="build or check an artifact, save it named by sha256, write its card")
    src = reg.add_mutually_exclusive_group(required=True)
    src.add_argument("--spec", type=Path, help="spec JSON (with --weights): architecture, window_t, thresholds, ...")
    src.add_argument("--artifact", type=Path, help="an artifact already built (<sha256>.safetensors)")
    reg.add_argument("--weights", type=Path, help="safetensors state dict of the spec's architecture")
    reg.add_argument("--out", type=Path, default=None,
                     help="artifact directory (default $TICKSCOPE_DATA_DIR/models, on the serving search path)")
    reg.add_argument("--cards", type=Path, default=None, help="card directory (default OUT/cards)")
    lst = verbs.add_parser("list", help="every model version on the search path, the default marked")
    for verb in (reg, lst):
        verb.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


def run(args) -> int:
    from tickscope.models.registry import ModelError

    try:
        return _register(args) if args.verb == "register" else _list(args)
    except ModelError as exc:
        print(f"tickscope model {args.verb}: {exc}", file=sys.stderr)
        return 2


def _register(args) -> int:
    import shutil

    import torch

    from tickscope.models.card import write_card
    from tickscope.models.register import RegistrationError, check_artifact, read_spec, register
    from tickscope.models.registry import load_file, search_dirs

    torch.set_num_threads(1)
    out = args.out or search_dirs()[-1]
    out.mkdir(parents=True, exist_ok=True)
    if args.artifact is not None:
        loaded = load_file(args.artifact)  # its name must be its sha256
        meta = check_artifact(loaded)
        version = loaded.version
        if not (out / args.artifact.name).exists():
            shutil.copyfile(args.artifact, out / args.artifact.name)
    else:
        if args.weights is None:
            raise RegistrationError("--spec needs --weights (the safetensors state dict)")
        version, meta = register(read_spec(args.spec), args.weights, out)
    md, _ = write_card(version, meta, args.cards or out / "cards")
    print(json.dumps({"version": version, "card": str(md)}) if args.json else
          f"registered {version}\nartifact {out / (version + '.safetensors')}\ncard {md}\n"
          + "\n".join(f"check: {c}" for c in meta["registration"]["checks"])
          + f"\nserve it: tickscope up --model {version}")
    return 0


def _list(args) -> int:
    from tickscope.models.registry import default_version, list_versions, read_meta
    from tickscope.models.spec import ModelSpec

    try:
        default = default_version()
    except Exception:  # noqa: BLE001 - a missing DEFAULT just marks nothing
        default = None
    rows = []
    for version, path in list_versions():
        try:
            meta = read_meta(path)
            spec = ModelSpec.from_meta(meta)
            arch = meta.get("architecture") or {"class": "tickscope.models.lstm:AttentionLSTM"}
            rows.append({"version": version, "default": version == default, "path": str(path),
                         "architecture": arch.get("class") or arch.get("entry_point"), "window_t": spec.window_t,
                         "features": spec.feature_function, "thresholds": list(spec.thresholds),
                         "attention": spec.attention, "output": spec.output})
        except Exception as exc:  # noqa: BLE001 - list what is there, say what cannot be read
            rows.append({"version": version, "default": version == default, "path": str(path), "error": str(exc)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        mark = "*" if r["default"] else " "
        if "error" in r:
            print(f"{mark} {r['version']}  unreadable: {r['error']}")
            continue
        lo, hi = r["thresholds"]
        print(f"{mark} {r['version']}  {r['architecture'].split(':')[-1]:14s} T={r['window_t']} "
              f"attention={'yes' if r['attention'] else 'no '} thresholds ({lo:+.4f}, {hi:+.4f})  {r['output']}")
    return 0
