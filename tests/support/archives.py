"""Real archive records and archives built from them, for the archive tests.

Records are real: EURUSD ticks through the worker's own detect and explain
stages (``tickscope.streams.offline``), explained by the real explainer.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from tickscope.audit.archive_store import Incoming, open_store
from tickscope.audit.heads import KEY_FILE, PUB_FILE, Signer, load_signer
from tickscope.marketdata.sources import load_source
from tickscope.models.registry import load
from tickscope.streams.offline import detect, explain_all, tick_messages


@lru_cache(maxsize=1)
def real_signals(limit_ticks: int = 2000) -> tuple:
    """Signals the real detector fires on the first EURUSD ticks (micro-batches of 64, as a busy worker)."""
    torch.set_num_threads(1)
    messages = tick_messages("EURUSD", load_source("eurusd")[:limit_ticks])
    signals = detect(messages, load(), cooldown=8, batch_size=64, now_ms=1_700_000_000_000).signals
    assert len(signals) >= 14, "expected the default model to fire on EURUSD"
    return tuple(signals)


@lru_cache(maxsize=1)
def real_records() -> tuple:
    """ArchiveRecords made from the first 14 real signals by the worker's explain path."""
    return tuple(explain_all(list(real_signals()[:14]), load()))


def incoming(records, start_offset: int = 0) -> list[Incoming]:
    """Records as the archiver receives them from partition 0 of ``explanations``."""
    return [Incoming(r.to_json(), r.signal_id.encode(), f"explanations/0@{start_offset + i}")
            for i, r in enumerate(records)]


def signer_in(data_dir: Path) -> Signer:
    """The signing key of ``data_dir/keys`` (created the first time, as for a new archive)."""
    return load_signer(None, Path(data_dir) / "keys" / KEY_FILE, archive_empty=True)


def public_key_file(data_dir: Path) -> Path:
    return Path(data_dir) / "keys" / PUB_FILE


def build_archive(path, records, batch: int = 4, data_dir: Path | None = None) -> Signer:
    """An archive holding ``records``, appended ``batch`` at a time (one signed head per batch); returns the signer.

    Reopening an existing archive continues its log through the archiver's own start check.
    """
    from tickscope.audit.startup import check_log

    signer = signer_in(data_dir if data_dir is not None else Path(str(path)).parent)
    store = open_store(path, read_only=False)
    if not store.is_empty():
        state = check_log(store, {signer.key_id: signer.public_raw}, None)
        store.adopt(state.frontier, state.last_head)
    store.register_key(signer, 1)
    for k in range(0, len(records), batch):
        store.append_batch(incoming(records[k:k + batch], k), {("explanations", 0): k + batch}, signer,
                           1_700_000_000_000 + k)
    store.close()
    return signer


def witness_values(path) -> list[bytes]:
    """The heads of an archive as the archiver published them (taken before any attack): a witness file's lines."""
    with open_store(path, read_only=True) as store:
        return [h.to_json_bytes() for h in store.heads()]


def reopen(path, signer: Signer):
    """A writable store on an existing archive, through the archiver's start check (as a restart does)."""
    from tickscope.audit.startup import check_log

    store = open_store(path, read_only=False)
    state = check_log(store, {signer.key_id: signer.public_raw}, None)
    store.adopt(state.frontier, state.last_head)
    return store


# ---- archives as an older tickscope wrote them ---------------------------------------------------------------

_LEGACY_TABLES = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE records (seq INTEGER PRIMARY KEY, signal_id TEXT NOT NULL UNIQUE, symbol TEXT NOT NULL,
        ts INTEGER NOT NULL, model_version TEXT NOT NULL, schema_version INTEGER NOT NULL, body BLOB NOT NULL,
        leaf_hash BLOB NOT NULL, log_root BLOB NOT NULL, source TEXT NOT NULL, archived_at INTEGER NOT NULL)""",
    """CREATE TABLE heads (tree_size INTEGER PRIMARY KEY, root BLOB NOT NULL, timestamp INTEGER NOT NULL,
        key_id TEXT NOT NULL, signature BLOB NOT NULL)""",
    "CREATE TABLE signing_keys (key_id TEXT PRIMARY KEY, public_key BLOB NOT NULL, added_at INTEGER NOT NULL)",
    """CREATE TABLE conflicts (id INTEGER PRIMARY KEY AUTOINCREMENT, signal_id TEXT NOT NULL,
        archived_seq INTEGER NOT NULL, kind TEXT NOT NULL, body BLOB NOT NULL, source TEXT NOT NULL,
        received_at INTEGER NOT NULL)""",
    """CREATE TABLE rejected (id INTEGER PRIMARY KEY AUTOINCREMENT, reason TEXT NOT NULL, detail TEXT NOT NULL,
        raw_value BLOB, raw_key BLOB, source TEXT NOT NULL, received_at INTEGER NOT NULL)""",
    """CREATE TABLE offsets (topic TEXT NOT NULL, kafka_partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
        PRIMARY KEY (topic, kafka_partition))""",
]


def build_legacy_archive(path, values: list[dict], signer: Signer, batch: int = 4) -> None:
    """A store-schema-1 SQLite archive as tickscope wrote it before RFC 8785: bodies in the legacy hash form
    (sorted-keys JSON, Python float repr), stored verbatim whatever their schema_version, heads without
    consistency proofs. Old archives must still verify."""
    import sqlite3

    from tickscope.audit.merkle import CompactRange, leaf_hash
    from tickscope.contracts.canonical import canonical_json

    con = sqlite3.connect(path)
    for q in _LEGACY_TABLES:
        con.execute(q)
    con.execute("INSERT INTO meta VALUES ('store_schema_version', '1'), ('log_hash', 'rfc6962-sha256')")
    con.execute("INSERT INTO signing_keys VALUES (?, ?, 1)", (signer.key_id, signer.public_raw))
    frontier = CompactRange()
    for i, v in enumerate(values):
        body = canonical_json(v)
        frontier.append(leaf_hash(body))
        con.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (i, v["signal_id"], v["symbol"], v["ts"], v["model_version"], v["schema_version"], body,
                     leaf_hash(body), frontier.root(), f"explanations/0@{i}", 1_700_000_000_000 + i))
        if (i + 1) % batch == 0 or i == len(values) - 1:
            head = signer.sign(frontier.size, frontier.root(), 1_700_000_000_000 + i)
            con.execute("INSERT INTO heads VALUES (?, ?, ?, ?, ?)",
                        (head.tree_size, head.root, head.timestamp, head.key_id, head.signature))
    con.execute("INSERT INTO offsets VALUES ('explanations', 0, ?)", (len(values),))
    con.commit()
    con.close()
