"""``tickscope export``: archived records to CSV or Parquet."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub):
    from tickscope.cli.replay_command import add_filters

    p = sub.add_parser("export", help="export archived explanations to CSV or Parquet")
    p.add_argument("--format", choices=("csv", "parquet"), required=True)
    p.add_argument("--out", type=Path, required=True, help="output file")
    add_filters(p)
    return p


def run(args) -> int:
    from tickscope.audit.archive_store import ArchiveError, open_store
    from tickscope.audit.export import export
    from tickscope.cli.replay_command import filters
    from tickscope.settings import get_settings

    settings = get_settings()
    try:
        flt = filters(args)
        store = open_store(args.archive or settings.archive_target(), read_only=True)
    except (ArchiveError, ValueError) as exc:
        print(f"tickscope export: {exc}", file=sys.stderr)
        return 2
    try:
        n = export(store.records(**flt), args.format, args.out)
    except ImportError as exc:
        print(f"tickscope export: {args.format} needs {exc.name} (pip install pyarrow)", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"tickscope export: cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a damaged archive file; name it, no traceback
        print(f"tickscope export: {store.where} cannot be read: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"tickscope export: {n} records -> {args.out} ({args.format})")
    return 0
