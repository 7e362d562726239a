"""``tickscope verify``: recompute the archive's Merkle log and check every record, head and proof."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("verify", help="check the archive: every record, signed head, inclusion and consistency proof")
    p.add_argument("--archive", default=None, help="SQLite path or postgresql:// URL (default: as the archiver)")
    p.add_argument("--public-key", type=Path, default=None,
                   help="independently held public key (hex or PEM) to check head signatures with "
                        "(default: $TICKSCOPE_DATA_DIR/keys/archive-ed25519.pub if it signed this archive)")
    p.add_argument("--head", type=Path, action="append", default=[],
                   help="a signed head held outside the archive (JSON, as published on archive.heads); repeatable")
    p.add_argument("--no-inclusion", action="store_true", help="skip the per-record inclusion proofs")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def run(args) -> int:
    from tickscope.audit.archive_store import ArchiveError, open_store
    from tickscope.audit.heads import PUB_FILE, Head, KeyError_, key_id, read_public_key
    from tickscope.audit.verify import render, verify_store
    from tickscope.settings import get_settings

    settings = get_settings()
    target = args.archive or settings.archive_target()
    try:
        external = [_read_head(p, Head) for p in args.head]
        store = open_store(target, read_only=True)
    except (ArchiveError, ValueError) as exc:
        print(f"tickscope verify: {exc}", file=sys.stderr)
        return 2
    try:
        trusted = None
        if args.public_key is not None:
            trusted = read_public_key(args.public_key)
        else:
            default = settings.data_dir / "keys" / PUB_FILE
            if default.exists():
                candidate = read_public_key(default)
                if key_id(candidate) in store.signing_keys():
                    trusted = candidate
        result = verify_store(store, trusted, inclusion=not args.no_inclusion, external_heads=external)
    except KeyError_ as exc:
        print(f"tickscope verify: {exc}", file=sys.stderr)
        return 2
    except ArchiveError as exc:
        print(f"tickscope verify: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a damaged file can fail mid-read; name it, no traceback
        print(f"tickscope verify: {store.where} cannot be read: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    if args.json:
        first = result.first_bad()
        print(json.dumps({"ok": result.ok, "archive": result.where, "records": result.records, "heads": result.heads,
                          "proofs_checked": result.proofs_checked, "root": result.root.hex() if result.root else None,
                          "first_bad": None if first is None else {"seq": first.seq, "signal_id": first.signal_id,
                                                                   "message": first.message},
                          "problems": [p.describe() for p in result.problems], "warnings": result.warnings,
                          "seconds": result.seconds}, indent=2))
    else:
        print(render(result))
    return 0 if result.ok else 1


def _read_head(path: Path, Head):
    try:
        d = json.loads(Path(path).read_text())
        return Head(int(d["tree_size"]), bytes.fromhex(d["root"]), int(d["timestamp"]), str(d["key_id"]),
                    bytes.fromhex(d["signature"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a signed head (JSON with tree_size, root, timestamp, key_id, signature): "
                         f"{exc}") from exc
