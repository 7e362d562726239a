"""``tickscope verify``: check the archive against a pinned key, the witness and the verifier's checkpoint.

Trust never comes from the archive: without a pinned public key (``--public-key``,
``TICKSCOPE_ARCHIVE_PUBLIC_KEY``, or one a checkpoint pinned earlier) verify says so
and exits 2, unless ``--trust-on-first-use`` is given together with ``--checkpoint``:
it then trusts the key that signed the archive's latest head, says so, and pins it in
the checkpoint for every later run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("verify", help="check the archive: every record, signed head and proof, against a pinned key, "
                                      "the witness and a checkpoint")
    p.add_argument("--archive", default=None, help="SQLite path or postgresql:// URL (default: as the archiver)")
    p.add_argument("--public-key", type=Path, action="append", default=[],
                   help="a trusted public key file (hex or PEM), held independently of the archive; repeatable for "
                        "rotated keys (env TICKSCOPE_ARCHIVE_PUBLIC_KEY: hex, PEM or a file)")
    p.add_argument("--witness", default=None, metavar="kafka|FILE|none",
                   help="the heads held outside the archive: 'kafka' (the archive.heads topic; the default when "
                        "TICKSCOPE_KAFKA_BOOTSTRAP is set), a file of JSON lines (tickscope heads export), or 'none'")
    p.add_argument("--checkpoint", type=Path, default=None, metavar="FILE",
                   help="the verifier's memory: demand a consistency proof from the head accepted last time, and "
                        "store the new one after an OK")
    p.add_argument("--trust-on-first-use", action="store_true",
                   help="with --checkpoint and no pinned key: trust the key of the archive's latest head, once, and "
                        "pin it in the checkpoint")
    p.add_argument("--no-inclusion", action="store_true", help="skip the per-record inclusion proofs")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def run(args) -> int:
    from tickscope.audit.archive_store import ArchiveError, open_store
    from tickscope.audit.checkpoint import CheckpointError, read_checkpoint
    from tickscope.audit.heads import KeyError_
    from tickscope.audit.witness import WitnessError
    from tickscope.settings import get_settings

    settings = get_settings()
    target = args.archive or settings.archive_target()
    try:
        cp = read_checkpoint(args.checkpoint) if args.checkpoint else None
        keys = _pinned_keys(args, settings, cp)
        witness = _witness(args, settings)
        store = open_store(target, read_only=True)
    except (ArchiveError, KeyError_, WitnessError, CheckpointError, ValueError) as exc:
        print(f"tickscope verify: {exc}", file=sys.stderr)
        return 2
    try:
        if not keys:
            keys = _trust_on_first_use(args, store)
            if keys is None:
                return 2
        result = _verify(store, keys, args, witness, cp)
    except ArchiveError as exc:
        print(f"tickscope verify: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a damaged file can fail mid-read; name it, no traceback
        print(f"tickscope verify: {store.where} cannot be read: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    _print(result, args)
    if result.ok and args.checkpoint and result.last_head is not None:
        return _save_checkpoint(args.checkpoint, result, keys, sys.stderr if args.json else sys.stdout)
    return 0 if result.ok else 1


def _pinned_keys(args, settings, cp) -> dict[str, bytes]:
    from tickscope.audit.heads import key_id, public_key_from_text, read_public_key

    raws = [read_public_key(p) for p in args.public_key]
    if not raws and settings.archive_public_key:
        text = settings.archive_public_key.strip()
        path = Path(text)
        raws.append(read_public_key(path) if len(text) < 4096 and not text.startswith("-----") and path.is_file()
                    else public_key_from_text(text, "TICKSCOPE_ARCHIVE_PUBLIC_KEY"))
    if cp is not None and cp.public_key is not None:
        raws.append(cp.public_key)
    return {key_id(k): k for k in raws}


def _witness(args, settings):
    from tickscope.audit.witness import read_file, read_topic

    choice = args.witness
    if choice is None:
        choice = "kafka" if settings.kafka_configured and settings.topic_archive_heads else "none"
    if choice == "none":
        return None
    if choice == "kafka":
        return read_topic(settings.kafka_python_config(), settings.topic_archive_heads or "archive.heads")
    return read_file(Path(choice))


def _trust_on_first_use(args, store) -> dict[str, bytes] | None:
    from tickscope.audit.heads import key_id

    if not (args.trust_on_first_use and args.checkpoint):
        print("tickscope verify: no trusted public key. Pass --public-key PUB (or set TICKSCOPE_ARCHIVE_PUBLIC_KEY) "
              "with a key you hold independently of the archive; keys stored in the archive are never trusted. "
              "(--trust-on-first-use --checkpoint FILE trusts the archive's current key once and pins it.)",
              file=sys.stderr)
        return None
    heads = store.heads()
    stored = store.signing_keys()
    if not heads or heads[-1].key_id not in stored or key_id(stored[heads[-1].key_id]) != heads[-1].key_id:
        print("tickscope verify: trust on first use: the archive has no signed head with a registered key to trust",
              file=sys.stderr)
        return None
    raw = stored[heads[-1].key_id]
    print(f"tickscope verify: TRUST ON FIRST USE: trusting key {heads[-1].key_id} (public key {raw.hex()}) as found "
          f"in the archive itself. This run cannot tell a genuine archive from a re-signed one; {args.checkpoint} "
          "pins this key for every later run.", file=sys.stderr)
    return {heads[-1].key_id: raw}


def _verify(store, keys, args, witness, cp):
    from tickscope.audit.verify import verify_store

    return verify_store(store, keys, inclusion=not args.no_inclusion, witness=witness,
                        checkpoint=None if cp is None else cp.head)


def _print(result, args) -> None:
    from tickscope.audit.verify import render

    if not args.json:
        print(render(result))
        return
    first = result.first_bad()
    print(json.dumps({"ok": result.ok, "archive": result.where, "records": result.records, "heads": result.heads,
                      "witness_heads": result.witness_heads, "proofs_checked": result.proofs_checked,
                      "root": result.root.hex() if result.root else None,
                      "latest_head": None if result.last_head is None else result.last_head.to_json_dict(),
                      "first_bad": None if first is None else {"seq": first.seq, "signal_id": first.signal_id,
                                                               "message": first.message},
                      "problems": [p.describe() for p in result.problems], "warnings": result.warnings,
                      "seconds": result.seconds}, indent=2))


def _save_checkpoint(path: Path, result, keys: dict[str, bytes], out) -> int:
    from tickscope.audit.checkpoint import CheckpointError, write_checkpoint

    try:
        write_checkpoint(path, result.last_head, keys[result.last_head.key_id])
    except CheckpointError as exc:
        print(f"tickscope verify: {exc}", file=sys.stderr)
        return 2
    print(f"  checkpoint {path}: now at head size {result.last_head.tree_size}", file=out)
    return 0
