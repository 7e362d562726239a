"""``tickscope archiver``: consume ``explanations`` into the durable, tamper-evident archive.

It starts only on a log it can vouch for: the stored log is checked against its
last signed head and then against the witness (``archive.heads``) before anything
is written; a doubtful log stops it with exit code 2 and the reason.
"""

from __future__ import annotations

import logging
import os
import sys


def add_parser(sub):
    p = sub.add_parser("archiver", help="archive the explanations topic (SQLite or PostgreSQL, signed Merkle log)")
    p.add_argument("--archive", default=None,
                   help="SQLite path or postgresql:// URL (env TICKSCOPE_ARCHIVE_URL / TICKSCOPE_ARCHIVE_PATH; "
                        "default $TICKSCOPE_DATA_DIR/archive.sqlite)")
    p.add_argument("--idle-exit", type=float, default=None, metavar="S",
                   help="exit after S seconds without new messages (default: run until stopped)")
    return p


def run(args) -> int:
    from tickscope.audit.archive_store import ArchiveError
    from tickscope.audit.heads import KeyError_
    from tickscope.audit.witness import WitnessError
    from tickscope.settings import get_settings

    logging.basicConfig(level=os.environ.get("TICKSCOPE_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    settings = get_settings()
    target = args.archive or settings.archive_target()
    try:
        signer, state = _checked_start(settings, target)
        return _archive(args, settings, target, signer, state)
    except (ArchiveError, KeyError_, WitnessError, RuntimeError) as exc:
        print(f"tickscope archiver: {exc}", file=sys.stderr)
        return 2


def _checked_start(settings, target):
    """(signer, StartState): the key, then the stored log against its heads, then against the witness."""
    from tickscope.audit.startup import check_log
    from tickscope.audit.witness import ensure_heads_topic, read_topic
    from tickscope.transport.topics import ensure_topics

    empty, keys, signer = _key_for(settings, target)
    state = _with_store(target, lambda store: check_log(store, keys, None))  # before touching Kafka
    ensure_topics(settings)
    if settings.topic_archive_heads:
        for warning in ensure_heads_topic(settings.kafka_python_config(), settings.topic_archive_heads):
            logging.getLogger("tickscope.archiver").warning("archiver: %s", warning)
        witness = read_topic(settings.kafka_python_config(), settings.topic_archive_heads)
        for bad in witness.bad:
            logging.getLogger("tickscope.archiver").warning("archiver: witness entry ignored: %s", bad)
        state = _with_store(target, lambda store: check_log(store, keys, witness.heads))
    for note in state.notes:
        logging.getLogger("tickscope.archiver").warning("archiver: %s", note)
    return signer, state


def _key_for(settings, target):
    """(archive is empty, accepted public keys by id, signer): a missing key file is created only for an empty one."""
    from tickscope.audit.heads import key_id, load_signer, public_key_from_text

    empty = _with_store(target, lambda store: store.is_empty(), missing=True)
    secret = settings.archive_signing_key.get_secret_value() if settings.archive_signing_key else None
    signer = load_signer(secret, settings.archive_key_path(), empty,
                         path_configured=settings.archive_signing_key_file is not None)
    keys = {signer.key_id: signer.public_raw}
    for text in filter(None, (t.strip() for t in settings.archive_previous_public_keys.split(","))):
        raw = public_key_from_text(text, "TICKSCOPE_ARCHIVE_PREVIOUS_PUBLIC_KEYS")
        keys[key_id(raw)] = raw
    return empty, keys, signer


def _with_store(target, fn, missing=None):
    """``fn(read-only store)``; ``missing`` when there is no archive yet (a new SQLite file or an empty database)."""
    from tickscope.audit.archive_store import open_store
    from tickscope.audit.merkle import CompactRange
    from tickscope.audit.startup import StartState
    from tickscope.audit.store_schema import NoArchive

    try:
        store = open_store(target, read_only=True)
    except NoArchive:
        return StartState(CompactRange(), None) if missing is None else missing
    try:
        return fn(store)
    finally:
        store.close()


def _archive(args, settings, target, signer, state) -> int:
    from tickscope.audit.archive_store import ArchiveError, describe, open_store
    from tickscope.audit.archiver import Archiver, install_signal_handlers
    from tickscope.audit.heads import public_key_path
    from tickscope.audit.witness import HeadPublisher
    from tickscope.contracts.times import now_ms

    store = open_store(target, read_only=False)
    try:
        store.adopt(state.frontier, state.last_head)
        store.register_key(signer, now_ms())
        publisher = None
        if settings.topic_archive_heads:
            publisher = HeadPublisher(settings.kafka_python_config(), settings.topic_archive_heads)
            publisher.add(state.unwitnessed)
        _serve_metrics(settings.archiver_metrics_port)
        archiver = Archiver(store, signer, settings.kafka_python_config(), settings.topic_explanations, publisher,
                            max_batch=settings.archive_batch, gap_policy=settings.archive_gap_policy,
                            max_backlog=settings.archive_max_witness_backlog)
        install_signal_handlers(archiver)
        key_at = "TICKSCOPE_ARCHIVE_SIGNING_KEY" if settings.archive_signing_key else settings.archive_key_path()
        ready = (f"tickscope archiver: ready: {settings.topic_explanations} -> {describe(target)} "
                 f"({state.frontier.size} records archived), signing key {signer.key_id} from {key_at}, "
                 f"public key {signer.public_raw.hex()} (also in {public_key_path(settings.archive_key_path())}), "
                 f"heads -> {settings.topic_archive_heads or 'archive only'}"
                 + (f" ({len(state.unwitnessed)} to publish)" if state.unwitnessed and publisher else ""))
        _warn_key_inside_data_dir(settings)
        try:
            c = archiver.run(ready_message=ready, idle_exit_s=args.idle_exit)
        except ArchiveError as exc:
            print(f"tickscope archiver: {exc}", file=sys.stderr)
            return 2
    finally:
        store.close()
    print(f"tickscope archiver: stopped: {c.appended} archived, {c.duplicates} duplicates ignored, "
          f"{c.conflicts} conflicts flagged, {c.rejected} rejected, {c.gap_records} offsets in gaps", flush=True)
    return 0


def _serve_metrics(port: int) -> None:
    if not port:
        return
    from prometheus_client import start_http_server

    try:
        start_http_server(port)
    except OSError as exc:
        logging.getLogger("tickscope.archiver").warning("archiver: metrics port %d not served: %s", port, exc)


def _warn_key_inside_data_dir(settings) -> None:
    if settings.archive_signing_key:
        return
    key = settings.archive_key_path().resolve()
    data = settings.data_dir.resolve()
    if data == key or data in key.parents:
        logging.getLogger("tickscope.archiver").warning(
            "archiver: the signing key %s lies inside the data directory: whoever can write the data directory can "
            "read it and sign a rewritten log. In production mount it from a secret store and set "
            "TICKSCOPE_ARCHIVE_SIGNING_KEY_FILE (docs/governance.md)", key)
