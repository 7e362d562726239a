"""The durable, tamper-evident archive of explanations (issue 6).

- ``store``: SQLite / PostgreSQL schema and writes (one transaction per batch)
- ``merkle``: RFC 6962 hashing, inclusion and consistency proofs
- ``heads``: Ed25519-signed tree heads and the signing key
- ``archiver``: Kafka ``explanations`` -> store
- ``verify``: recompute the log, check every record, head and proof
- ``replay``: re-create explanations bit for bit, and re-run detection from raw ticks
- ``report``: offline HTML report, CSV / Parquet export

Settings (env prefix ``TICKSCOPE_``, in ``tickscope.settings.Settings``):
``ARCHIVE_URL`` (a PostgreSQL URL; default: SQLite at ``$TICKSCOPE_DATA_DIR/archive.sqlite``),
``ARCHIVE_PATH`` (another SQLite path), ``ARCHIVE_SIGNING_KEY`` (Ed25519 seed hex or PEM;
default: created at ``$TICKSCOPE_DATA_DIR/keys/``), ``TOPIC_ARCHIVE_HEADS`` (``archive.heads``;
empty = do not publish heads), ``ARCHIVE_BATCH`` (max records per transaction, 500).
"""

from __future__ import annotations

from tickscope.settings import Settings

ARCHIVE_FILE = "archive.sqlite"
AuditSettings = Settings  # the archive's settings live in the one settings object


def get_audit_settings() -> Settings:
    return Settings()
