"""``tickscope heads``: the archive's signed heads as the witness holds them.

``tickscope heads export --out FILE`` copies every value of the ``archive.heads``
topic, byte for byte, one per line: the witness file ``tickscope verify --witness
FILE`` reads. ``--from-archive`` writes the archive's own heads in the same form
(useful to seed an outside store; such a copy is only a witness once it is kept
where the archive's operators cannot write).
"""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("heads", help="export the signed heads of the witness topic (or the archive) as JSON lines")
    actions = p.add_subparsers(dest="heads_action", metavar="ACTION", required=True)
    e = actions.add_parser("export", help="write the witness (archive.heads) as JSON lines, one head each")
    e.add_argument("--out", type=Path, default=None, help="output file (default: standard output)")
    e.add_argument("--from-archive", action="store_true", help="the archive's own heads instead of the topic's")
    e.add_argument("--archive", default=None, help="SQLite path or postgresql:// URL (default: as the archiver)")
    return p


def run(args) -> int:
    from tickscope.audit.archive_store import ArchiveError, open_store
    from tickscope.audit.witness import WitnessError, read_topic_values, write_file
    from tickscope.settings import get_settings

    settings = get_settings()
    try:
        if args.from_archive:
            with open_store(args.archive or settings.archive_target(), read_only=True) as store:
                values = [h.to_json_bytes() for h in store.heads()]
            where = "the archive"
        else:
            topic = settings.topic_archive_heads or "archive.heads"
            values = read_topic_values(settings.kafka_python_config(), topic)
            where = f"topic {topic}"
    except (ArchiveError, WitnessError) as exc:
        print(f"tickscope heads: {exc}", file=sys.stderr)
        return 2
    if args.out is None:
        sys.stdout.buffer.write(b"".join(v.rstrip(b"\n") + b"\n" for v in values))
        sys.stdout.flush()
        return 0
    try:
        write_file(args.out, values)
    except OSError as exc:
        print(f"tickscope heads: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"tickscope heads: {len(values)} head(s) from {where} -> {args.out}", file=sys.stderr)
    return 0
