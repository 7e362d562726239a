"""``tickscope archiver``: consume ``explanations`` into the durable, tamper-evident archive."""

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
    from tickscope.audit.archive_store import ArchiveError, describe, open_store
    from tickscope.audit.archiver import Archiver, install_signal_handlers
    from tickscope.audit.heads import KeyError_, load_or_create_signer
    from tickscope.contracts.times import now_ms
    from tickscope.settings import get_settings
    from tickscope.transport.topics import ensure_topics

    logging.basicConfig(level=os.environ.get("TICKSCOPE_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    settings = get_settings()
    target = args.archive or settings.archive_target()
    try:
        signer = load_or_create_signer(settings.data_dir, settings.archive_signing_key.get_secret_value()
                                       if settings.archive_signing_key else None)
        store = open_store(target, read_only=False)
        store.register_key(signer, now_ms())
        store.load_frontier()
    except (ArchiveError, KeyError_) as exc:
        print(f"tickscope archiver: {exc}", file=sys.stderr)
        return 2
    try:
        ensure_topics(settings)
        _ensure_heads_topic(settings)
    except RuntimeError as exc:
        print(f"tickscope archiver: {exc}", file=sys.stderr)
        store.close()
        return 2
    archiver = Archiver(store, signer, settings.kafka_python_config(), settings.topic_explanations,
                        settings.topic_archive_heads or None, max_batch=settings.archive_batch)
    install_signal_handlers(archiver)
    ready = (f"tickscope archiver: ready: {settings.topic_explanations} -> {describe(target)} "
             f"({store.count()} records archived), signing key {signer.key_id}, heads -> "
             f"{settings.topic_archive_heads or 'archive only'}")
    try:
        c = archiver.run(ready_message=ready, idle_exit_s=args.idle_exit)
    except ArchiveError as exc:
        print(f"tickscope archiver: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"tickscope archiver: stopped: {c.appended} archived, {c.duplicates} duplicates ignored, "
          f"{c.conflicts} conflicts flagged, {c.rejected} rejected", flush=True)
    return 0


def _ensure_heads_topic(settings) -> None:
    if not settings.topic_archive_heads:
        return
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    try:
        admin = KafkaAdminClient(**settings.kafka_python_config(), request_timeout_ms=5000)
        try:
            if settings.topic_archive_heads not in set(admin.list_topics()):
                admin.create_topics([NewTopic(settings.topic_archive_heads, 1, 1)])
        except TopicAlreadyExistsError:
            pass
        finally:
            admin.close()
    except KafkaError as exc:
        logging.getLogger("tickscope.archiver").warning("cannot create %s: %s", settings.topic_archive_heads, exc)
