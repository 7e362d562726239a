"""``tickscope calibrate-alerts``: build a model version's training reference for the alert detectors."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub):
    from tickscope.detectors.reference import DEFAULT_SAMPLE

    p = sub.add_parser("calibrate-alerts", help="compute the alert detectors' training reference of a model version")
    p.add_argument("--version", default=None, help="model artifact sha256 (default: the shipped DEFAULT)")
    p.add_argument("--sample", type=int, default=DEFAULT_SAMPLE,
                   help=f"training windows explained (default {DEFAULT_SAMPLE})")
    p.add_argument("--out", default=None, help="output file (default models/cards/<version>.reference.json for a "
                                              "shipped model, else $TICKSCOPE_DATA_DIR/models/<version>"
                                              ".reference.json)")
    return p


def run(args) -> int:
    from tickscope.detectors.reference import build_reference, reference_path, save_reference
    from tickscope.models.registry import PACKAGE_DIR, ModelError, artifact_path, load
    from tickscope.settings import get_settings

    try:
        model = load(args.version)
    except ModelError as exc:
        print(f"tickscope calibrate-alerts: {exc}", file=sys.stderr)
        return 2
    shipped = artifact_path(model.version).parent == PACKAGE_DIR  # a registered model's reference stays beside it
    out = Path(args.out) if args.out else reference_path(model.version, None if shipped else get_settings().data_dir)
    ref = build_reference(model, args.sample)
    save_reference(ref, out)
    print(f"wrote {out}: {ref['n']} explained training windows, top features {ref['top_features'][:3]}")
    return 0
