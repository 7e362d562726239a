"""The durable, tamper-evident archive of explanations, and what a regulator does with it.

- ``archive_store``: SQLite / PostgreSQL schema and writes (one transaction per batch)
- ``merkle``: RFC 6962 hashing, inclusion and consistency proofs
- ``heads``: Ed25519-signed tree heads and the signing key
- ``archiver``: Kafka ``explanations`` -> the store
- ``verify``: recompute the log, check every record, head and proof
- ``replay``: re-create explanations bit for bit, and re-run detection from raw ticks
- ``report``: the offline HTML report; ``export``: CSV / Parquet

Settings (``tickscope.settings.Settings``, env prefix ``TICKSCOPE_``):
``ARCHIVE_URL`` (a PostgreSQL URL; default: SQLite at ``$TICKSCOPE_DATA_DIR/archive.sqlite``),
``ARCHIVE_PATH`` (another SQLite path), ``ARCHIVE_SIGNING_KEY`` (Ed25519 seed hex or PEM;
default: created at ``$TICKSCOPE_DATA_DIR/keys/``), ``TOPIC_ARCHIVE_HEADS`` (``archive.heads``;
empty = do not publish heads), ``ARCHIVE_BATCH`` (max records per transaction, 500).
"""
