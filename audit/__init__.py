"""The durable, tamper-evident archive of explanations, and what a regulator does with it.

Threat model (docs/governance.md): an insider who can write the archive database and the data directory,
but not the signing key's store, the witness, or what the verifier holds. Everything they do is refused by
the archiver or detected by verify.

- ``intake``: the archiver's per-message check (pure): a record to append, or a rejection with a reason
- ``store_schema`` / ``archive_store`` / ``store_records``: SQLite / PostgreSQL schema, appends and reads
- ``merkle``: RFC 6962 hashing, inclusion and consistency proofs (also from the archiver's frontier)
- ``heads``: Ed25519-signed tree heads, their published form, the signing key
- ``startup``: the archiver's start check against its last signed head and the witness
- ``witness``: publishing heads on ``archive.heads`` (acknowledged, backlog) and reading them back
- ``archiver``: Kafka ``explanations`` -> the store; gaps; metrics
- ``verify`` / ``verify_outside`` / ``checkpoint``: the verifier, against a pinned key, the witness and its memory
- ``replay`` / ``replay_params`` / ``replay_pool`` / ``tick_replay``: re-create explanations bit for bit, over
  every core, within an allowlist; re-run detection from raw ticks
- ``report`` / ``report_svg``: the offline HTML report (validated, escaped, CSP); ``export``: CSV / Parquet

Settings (``tickscope.settings.Settings``, env prefix ``TICKSCOPE_``): ``ARCHIVE_URL``, ``ARCHIVE_PATH``,
``ARCHIVE_SIGNING_KEY``, ``ARCHIVE_SIGNING_KEY_FILE``, ``ARCHIVE_PREVIOUS_PUBLIC_KEYS``, ``ARCHIVE_PUBLIC_KEY``,
``TOPIC_ARCHIVE_HEADS``, ``ARCHIVE_BATCH``, ``ARCHIVE_GAP_POLICY``, ``ARCHIVE_MAX_WITNESS_BACKLOG``,
``ARCHIVER_METRICS_PORT`` (docs/archive.md).
"""
