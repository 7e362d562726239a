"""The durable archive: SQLite (default) or PostgreSQL, one schema (see docs/archive.md).

Every archived record is one leaf of an append-only RFC 6962 Merkle log:
``records.seq`` is its 0-based leaf index, ``body`` the canonical JSON bytes
hashed into ``leaf_hash``, and ``log_root`` the log's root just after it was
appended. One transaction holds a batch of records, the consumer offsets they
came from and a signed tree head over the new size, so a crash leaves either
all of it or none of it (nothing lost, nothing doubled, no unsigned tail).

Writers take an exclusive lock for the transaction (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL ``LOCK TABLE``); readers (verify, replay, export) open the archive
read-only and read one consistent snapshot.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tickscope.audit.heads import Head, Signer
from tickscope.audit.merkle import CompactRange, leaf_hash
from tickscope.contracts.canonical import canonical_json
from tickscope.contracts.records import ARCHIVE_SCHEMA_VERSION, WALL_CLOCK_FIELDS

STORE_SCHEMA_VERSION = 1

_TABLES = [
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS records (
        seq {int} PRIMARY KEY,
        signal_id TEXT NOT NULL UNIQUE,
        symbol TEXT NOT NULL,
        ts {int} NOT NULL,
        model_version TEXT NOT NULL,
        schema_version {int} NOT NULL,
        body {blob} NOT NULL,
        leaf_hash {blob} NOT NULL,
        log_root {blob} NOT NULL,
        source TEXT NOT NULL,
        archived_at {int} NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS records_symbol_ts ON records (symbol, ts)",
    "CREATE INDEX IF NOT EXISTS records_ts ON records (ts)",
    "CREATE INDEX IF NOT EXISTS records_model_version ON records (model_version)",
    """CREATE TABLE IF NOT EXISTS heads (
        tree_size {int} PRIMARY KEY,
        root {blob} NOT NULL,
        timestamp {int} NOT NULL,
        key_id TEXT NOT NULL,
        signature {blob} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS signing_keys (key_id TEXT PRIMARY KEY, public_key {blob} NOT NULL,
        added_at {int} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS conflicts (
        id {serial},
        signal_id TEXT NOT NULL,
        archived_seq {int} NOT NULL,
        kind TEXT NOT NULL,
        body {blob} NOT NULL,
        source TEXT NOT NULL,
        received_at {int} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS rejected (
        id {serial},
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        raw_value {blob},
        raw_key {blob},
        source TEXT NOT NULL,
        received_at {int} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS offsets (topic TEXT NOT NULL, kafka_partition {int} NOT NULL,
        next_offset {int} NOT NULL, PRIMARY KEY (topic, kafka_partition))""",
]
_DIALECT = {
    "sqlite": {"int": "INTEGER", "blob": "BLOB", "serial": "INTEGER PRIMARY KEY AUTOINCREMENT"},
    "postgresql": {"int": "BIGINT", "blob": "BYTEA", "serial": "BIGSERIAL PRIMARY KEY"},
}


class ArchiveError(Exception):
    """An archive that cannot be opened or used; the message names it and says why."""


@dataclass(frozen=True)
class Incoming:
    """One message from the explanations topic, as the archiver received it."""

    value: bytes | None
    key: bytes | None
    source: str  # "topic/partition@offset"


@dataclass
class BatchResult:
    appended: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    newer_schema: int = 0
    head: Head | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredRecord:
    seq: int
    signal_id: str
    symbol: str
    ts: int
    model_version: str
    schema_version: int
    body: bytes
    leaf_hash: bytes
    log_root: bytes
    source: str
    archived_at: int

    def value(self) -> dict:
        return json.loads(self.body)


_RECORD_COLUMNS = ("seq, signal_id, symbol, ts, model_version, schema_version, body, leaf_hash, log_root, "
                   "source, archived_at")


def parse_record(value: bytes | None, key: bytes | None) -> tuple[dict, bytes] | tuple[str, str]:
    """(record dict, canonical body) or (reason, detail) for a message that cannot be archived."""
    if not value:
        return "empty", "message has no value"
    try:
        obj = json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        return "undecodable", f"not UTF-8 JSON: {exc}"
    if not isinstance(obj, dict):
        return "not_object", f"JSON {type(obj).__name__}, expected an object"
    for name, typ in (("signal_id", str), ("symbol", str), ("model_version", str), ("ts", int),
                      ("schema_version", int)):
        if not isinstance(obj.get(name), typ) or isinstance(obj.get(name), bool):
            return "bad_field", f"field {name!r} missing or not {typ.__name__}"
    if key is not None and key not in (obj["symbol"].encode("utf-8", "surrogatepass"),
                                       obj["signal_id"].encode("utf-8", "surrogatepass")):
        return "key_mismatch", f"key {key[:64]!r} is neither the symbol nor the signal_id {obj['signal_id']}"
    if obj["schema_version"] <= ARCHIVE_SCHEMA_VERSION:
        from pydantic import ValidationError

        from tickscope.contracts.records import ArchiveRecord

        try:
            ArchiveRecord.model_validate(obj)
        except ValidationError as exc:
            return "invalid", str(exc).splitlines()[0] + ": " + "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
    return obj, canonical_json(obj)


def without_wall_clock(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in WALL_CLOCK_FIELDS}


class Store:
    """One open archive. ``read_only`` stores never write (verify, replay, export)."""

    def __init__(self, conn, dialect: str, where: str, read_only: bool):
        self.conn, self.dialect, self.where, self.read_only = conn, dialect, where, read_only
        self.frontier: CompactRange | None = None

    # ---- SQL helpers
    def _sql(self, q: str) -> str:
        return q.replace("?", "%s") if self.dialect == "postgresql" else q

    def _exec(self, q: str, params: tuple = ()):
        cur = self.conn.cursor()
        cur.execute(self._sql(q), params)
        return cur

    def _one(self, q: str, params: tuple = ()):
        return self._exec(q, params).fetchone()

    def _begin_write(self) -> None:
        if self.dialect == "sqlite":
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            self._exec("LOCK TABLE records IN SHARE ROW EXCLUSIVE MODE")

    def _commit(self) -> None:
        self.conn.commit() if self.dialect == "postgresql" else self.conn.execute("COMMIT")

    def _rollback(self) -> None:
        try:
            self.conn.rollback() if self.dialect == "postgresql" else self.conn.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - nothing to roll back
            pass

    def close(self) -> None:
        try:
            if self.dialect == "postgresql" and self.read_only:
                self.conn.rollback()
        finally:
            self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- schema
    def init_schema(self) -> None:
        types = _DIALECT[self.dialect]
        self._begin_write() if self.dialect == "sqlite" else None
        try:
            for q in _TABLES:
                self._exec(q.format(**types))
            row = self._one("SELECT value FROM meta WHERE key = 'store_schema_version'")
            if row is None:
                self._exec("INSERT INTO meta (key, value) VALUES ('store_schema_version', ?)",
                           (str(STORE_SCHEMA_VERSION),))
                self._exec("INSERT INTO meta (key, value) VALUES ('log_hash', 'rfc6962-sha256')")
            self._commit()
        except Exception:
            self._rollback()
            raise
        self.check_schema()

    def check_schema(self) -> None:
        try:
            row = self._one("SELECT value FROM meta WHERE key = 'store_schema_version'")
        except Exception as exc:  # noqa: BLE001 - any driver error here means "not our archive"
            raise ArchiveError(f"{self.where} is not a readable tickscope archive: {_first_line(exc)}") from exc
        if row is None:
            raise ArchiveError(f"{self.where} is not a tickscope archive (no store_schema_version in meta)")
        if int(row[0]) > STORE_SCHEMA_VERSION:
            raise ArchiveError(f"{self.where} has archive schema_version {row[0]}, newer than this tickscope "
                               f"understands ({STORE_SCHEMA_VERSION}); upgrade tickscope")

    # ---- writing (archiver)
    def load_frontier(self) -> CompactRange:
        frontier = CompactRange()
        for (h,) in self._exec("SELECT leaf_hash FROM records ORDER BY seq"):
            frontier.append(bytes(h))
        self.frontier = frontier
        return frontier

    def register_key(self, signer: Signer, now_ms: int) -> None:
        self._begin_write() if self.dialect == "sqlite" else None
        try:
            if self._one("SELECT key_id FROM signing_keys WHERE key_id = ?", (signer.key_id,)) is None:
                self._exec("INSERT INTO signing_keys (key_id, public_key, added_at) VALUES (?, ?, ?)",
                           (signer.key_id, signer.public_raw, now_ms))
            self._commit()
        except Exception:
            self._rollback()
            raise

    def append_batch(self, items: list[Incoming], offsets: dict[tuple[str, int], int], signer: Signer,
                     now_ms: int) -> BatchResult:
        """Archive a batch, store the offsets after it and sign a head, all in one transaction."""
        if self.read_only:
            raise ArchiveError(f"{self.where} is open read-only")
        out = BatchResult()
        self._begin_write()
        try:
            size = int(self._one("SELECT COUNT(*) FROM records")[0])
            if self.frontier is None or self.frontier.size != size:
                self.load_frontier()  # another writer appended since we last looked
            work = self.frontier.copy()
            for item in items:
                self._archive_one(item, work, now_ms, out)
            for (topic, partition), nxt in offsets.items():
                if self._one("SELECT next_offset FROM offsets WHERE topic = ? AND kafka_partition = ?",
                             (topic, partition)) is None:
                    self._exec("INSERT INTO offsets (topic, kafka_partition, next_offset) VALUES (?, ?, ?)",
                               (topic, partition, nxt))
                else:
                    self._exec("UPDATE offsets SET next_offset = ? WHERE topic = ? AND kafka_partition = ?",
                               (nxt, topic, partition))
            if out.appended:
                last = self._one("SELECT MAX(timestamp) FROM heads")[0]
                stamp = max(now_ms, int(last) if last is not None else 0)  # a clock step back never dates heads back
                out.head = signer.sign(work.size, work.root(), stamp)
                self._exec("INSERT INTO heads (tree_size, root, timestamp, key_id, signature) VALUES (?, ?, ?, ?, ?)",
                           (out.head.tree_size, out.head.root, out.head.timestamp, out.head.key_id,
                            out.head.signature))
            self._commit()
        except Exception:
            self._rollback()
            self.frontier = None
            raise
        self.frontier = work
        return out

    def _archive_one(self, item: Incoming, work: CompactRange, now_ms: int, out: BatchResult) -> None:
        parsed = parse_record(item.value, item.key)
        if isinstance(parsed[0], str):
            reason, detail = parsed
            self._exec("INSERT INTO rejected (reason, detail, raw_value, raw_key, source, received_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (reason, detail, item.value, item.key, item.source, now_ms))
            out.rejected += 1
            out.notes.append(f"rejected {item.source}: {reason}: {detail}")
            return
        obj, body = parsed
        leaf = leaf_hash(body)
        row = self._one("SELECT seq, leaf_hash, body FROM records WHERE signal_id = ?", (obj["signal_id"],))
        if row is not None:
            if bytes(row[1]) == leaf:
                out.duplicates += 1
                return
            same = without_wall_clock(json.loads(bytes(row[2]))) == without_wall_clock(obj)
            kind = "wall_clock_only" if same else "content"
            self._exec("INSERT INTO conflicts (signal_id, archived_seq, kind, body, source, received_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (obj["signal_id"], int(row[0]), kind, body, item.source, now_ms))
            out.conflicts += 1
            out.notes.append(f"signal {obj['signal_id']} arrived again from {item.source} with different "
                             f"{'wall-clock fields' if same else 'content'}; kept the first (seq {row[0]}), "
                             "flagged the second in conflicts")
            return
        if obj["schema_version"] > ARCHIVE_SCHEMA_VERSION:
            out.newer_schema += 1
            out.notes.append(f"signal {obj['signal_id']} has schema_version {obj['schema_version']} (newer than "
                             f"{ARCHIVE_SCHEMA_VERSION}); archived verbatim")
        work.append(leaf)
        self._exec(f"INSERT INTO records ({_RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (work.size - 1, obj["signal_id"], obj["symbol"], obj["ts"], obj["model_version"],
                    obj["schema_version"], body, leaf, work.root(), item.source, now_ms))
        out.appended += 1

    # ---- reading
    def offsets(self) -> dict[tuple[str, int], int]:
        rows = self._exec("SELECT topic, kafka_partition, next_offset FROM offsets")
        return {(t, int(p)): int(o) for t, p, o in rows}

    def count(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM records")[0])

    def records(self, symbol: str | None = None, ts_from: int | None = None, ts_to: int | None = None,
                signal_id: str | None = None, model_version: str | None = None,
                order: str = "seq") -> Iterator[StoredRecord]:
        where, params = [], []
        for cond, val in (("symbol = ?", symbol), ("ts >= ?", ts_from), ("ts <= ?", ts_to),
                          ("signal_id = ?", signal_id), ("model_version = ?", model_version)):
            if val is not None:
                where.append(cond)
                params.append(val)
        q = f"SELECT {_RECORD_COLUMNS} FROM records"
        if where:
            q += " WHERE " + " AND ".join(where)
        q += " ORDER BY " + ("seq" if order == "seq" else "ts, seq")
        for r in self._exec(q, tuple(params)):
            yield StoredRecord(int(r[0]), r[1], r[2], int(r[3]), r[4], int(r[5]), bytes(r[6]), bytes(r[7]),
                               bytes(r[8]), r[9], int(r[10]))

    def leaf_hashes(self) -> list[bytes]:
        return [bytes(h) for (h,) in self._exec("SELECT leaf_hash FROM records ORDER BY seq")]

    def heads(self) -> list[Head]:
        return [Head(int(s), bytes(r), int(t), k, bytes(sig)) for s, r, t, k, sig in
                self._exec("SELECT tree_size, root, timestamp, key_id, signature FROM heads ORDER BY tree_size")]

    def signing_keys(self) -> dict[str, bytes]:
        return {k: bytes(p) for k, p in self._exec("SELECT key_id, public_key FROM signing_keys")}

    def conflicts(self) -> list[dict]:
        cols = ("signal_id", "archived_seq", "kind", "source", "received_at")
        return [dict(zip(cols, r)) for r in
                self._exec(f"SELECT {', '.join(cols)} FROM conflicts ORDER BY id")]

    def rejected(self) -> list[dict]:
        cols = ("reason", "detail", "source", "received_at")
        return [dict(zip(cols, r)) for r in self._exec(f"SELECT {', '.join(cols)} FROM rejected ORDER BY id")]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def is_url(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


def describe(target: str | Path) -> str:
    """The archive's name for messages, without a password."""
    if is_url(target):
        from urllib.parse import urlsplit

        u = urlsplit(str(target))
        host = u.hostname or ""
        user = u.username + "@" if u.username else ""
        return f"{u.scheme}://{user}{host}{':' + str(u.port) if u.port else ''}{u.path}"
    return str(target)


def open_store(target: str | Path, read_only: bool) -> Store:
    """Open an archive by SQLite path or PostgreSQL URL. Read-only opens never create or change anything."""
    where = describe(target)
    if is_url(target):
        return _open_postgres(str(target), where, read_only)
    path = Path(target)
    if read_only:
        if not path.exists():
            raise ArchiveError(f"no archive at {path}")
        if path.is_dir():
            raise ArchiveError(f"{path} is a directory, not an archive file")
        try:
            conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
            conn.execute("BEGIN")  # one snapshot for the whole read
        except sqlite3.Error as exc:
            raise ArchiveError(f"{path} is not a readable SQLite archive: {_first_line(exc)}") from exc
        store = Store(conn, "sqlite", where, True)
        store.check_schema()
        return store
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA busy_timeout = 30000")
        store = Store(conn, "sqlite", where, False)
        store.init_schema()
    except sqlite3.Error as exc:
        raise ArchiveError(f"{path} is not a usable SQLite archive: {_first_line(exc)}") from exc
    return store


def _open_postgres(url: str, where: str, read_only: bool) -> Store:
    try:
        import psycopg
    except ImportError as exc:
        raise ArchiveError("a PostgreSQL archive needs the psycopg package (pip install 'psycopg[binary]')") from exc
    try:
        conn = psycopg.connect(url, autocommit=False, connect_timeout=10)
        if read_only:
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    except psycopg.Error as exc:
        raise ArchiveError(f"cannot open PostgreSQL archive {where}: {_first_line(exc)}") from exc
    store = Store(conn, "postgresql", where, read_only)
    try:
        if read_only:
            store.check_schema()
        else:
            store.init_schema()
    except psycopg.Error as exc:
        conn.close()
        raise ArchiveError(f"PostgreSQL archive {where} is not usable: {_first_line(exc)}") from exc
    return store
