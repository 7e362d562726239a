"""The verifier's memory: the last head ``tickscope verify`` accepted, and the key it trusted, in a file.

Like Go's checksum database client keeps its ``latest``, a verifier that keeps a
checkpoint demands, next time, that the archive extend it (see
``tickscope.audit.verify_outside.check_checkpoint``). The file belongs to the
verifier, not to the archive's operators: keep it where they cannot write.

Form (JSON): ``{"schema_version": 1, "head": <the head's published JSON>,
"public_key": <hex of the trusted key>}``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tickscope.audit.heads import Head, head_from_json, public_key_from_text

CHECKPOINT_SCHEMA_VERSION = 1


class CheckpointError(Exception):
    """A checkpoint file that cannot be read or written."""


@dataclass(frozen=True)
class Checkpoint:
    head: Head | None
    public_key: bytes | None


def read_checkpoint(path: Path) -> Checkpoint | None:
    """The checkpoint in ``path``, or None when the file does not exist yet (first use)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        head = head_from_json(d["head"]) if d.get("head") is not None else None
        key = public_key_from_text(d["public_key"], str(path)) if d.get("public_key") else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: not a tickscope verify checkpoint: {exc}") from exc
    return Checkpoint(head, key)


def write_checkpoint(path: Path, head: Head | None, public_key: bytes) -> None:
    """Replace the checkpoint atomically (write a temporary file, then rename)."""
    path = Path(path)
    d = {"schema_version": CHECKPOINT_SCHEMA_VERSION, "head": None if head is None else head.to_json_dict(),
         "public_key": public_key.hex()}
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(d, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc.strerror}") from exc
