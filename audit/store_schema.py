"""The archive's SQL: tables, the SQLite/PostgreSQL dialects, connections, and schema versions.

One schema in both databases (see docs/archive.md). Store schema versions:

1. records, heads, signing_keys, conflicts, rejected, offsets.
2. ``records.hash_form`` (which canonical form made the body bytes: 1 legacy
   sorted-keys JSON, 2 RFC 8785; rows of a version-1 archive keep 1), the
   consistency proof stored with each head (``heads.from_size``,
   ``heads.consistency``), and the ``gaps`` table (offsets retention deleted
   before they were archived). A writable open upgrades a version-1 archive in
   one transaction; a read-only open reads either version and changes nothing.

Writers take an exclusive lock for a transaction (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL ``LOCK TABLE``); readers open the archive read-only and see one
consistent snapshot.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

STORE_SCHEMA_VERSION = 2

TABLES = [
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
        archived_at {int} NOT NULL,
        hash_form {int} NOT NULL DEFAULT 1)""",
    "CREATE INDEX IF NOT EXISTS records_symbol_ts ON records (symbol, ts)",
    "CREATE INDEX IF NOT EXISTS records_ts ON records (ts)",
    "CREATE INDEX IF NOT EXISTS records_model_version ON records (model_version)",
    """CREATE TABLE IF NOT EXISTS heads (
        tree_size {int} PRIMARY KEY,
        root {blob} NOT NULL,
        timestamp {int} NOT NULL,
        key_id TEXT NOT NULL,
        signature {blob} NOT NULL,
        from_size {int},
        consistency {blob})""",
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
    """CREATE TABLE IF NOT EXISTS gaps (
        id {serial},
        topic TEXT NOT NULL,
        kafka_partition {int} NOT NULL,
        from_offset {int} NOT NULL,
        to_offset {int} NOT NULL,
        detected_at {int} NOT NULL,
        detail TEXT NOT NULL)""",
]
UPGRADE_1_TO_2 = [
    "ALTER TABLE records ADD COLUMN hash_form {int} NOT NULL DEFAULT 1",
    "ALTER TABLE heads ADD COLUMN from_size {int}",
    "ALTER TABLE heads ADD COLUMN consistency {blob}",
]
DIALECT = {
    "sqlite": {"int": "INTEGER", "blob": "BLOB", "serial": "INTEGER PRIMARY KEY AUTOINCREMENT"},
    "postgresql": {"int": "BIGINT", "blob": "BYTEA", "serial": "BIGSERIAL PRIMARY KEY"},
}


class ArchiveError(Exception):
    """An archive that cannot be opened or used; the message names it and says why."""


class NoArchive(ArchiveError):
    """There is no archive there yet (no file, or a database without the archive's tables)."""


class SqlArchive:
    """A connection to one archive, in either dialect. ``read_only`` archives never write."""

    def __init__(self, conn, dialect: str, where: str, read_only: bool):
        self.conn, self.dialect, self.where, self.read_only = conn, dialect, where, read_only
        self.schema_version = STORE_SCHEMA_VERSION

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

    def init_schema(self) -> None:
        """Create the tables (or upgrade a version-1 archive) in one transaction, then check the version."""
        types = DIALECT[self.dialect]
        self._begin_write() if self.dialect == "sqlite" else None
        try:
            row = self._meta_version()
            if row is not None and int(row) == 1:
                for q in UPGRADE_1_TO_2:
                    self._exec(q.format(**types))
                self._exec("UPDATE meta SET value = ? WHERE key = 'store_schema_version'", (str(STORE_SCHEMA_VERSION),))
            for q in TABLES:
                self._exec(q.format(**types))
            if row is None:
                self._exec("INSERT INTO meta (key, value) VALUES ('store_schema_version', ?)",
                           (str(STORE_SCHEMA_VERSION),))
                self._exec("INSERT INTO meta (key, value) VALUES ('log_hash', 'rfc6962-sha256')")
            self._commit()
        except Exception:
            self._rollback()
            raise
        self.check_schema()

    def _meta_version(self) -> str | None:
        try:
            row = self._one("SELECT value FROM meta WHERE key = 'store_schema_version'")
        except Exception:  # noqa: BLE001 - no meta table yet: a new archive
            if self.dialect == "postgresql":
                self.conn.rollback()
            return None
        return None if row is None else row[0]

    def check_schema(self) -> None:
        try:
            row = self._one("SELECT value FROM meta WHERE key = 'store_schema_version'")
        except Exception as exc:  # noqa: BLE001 - any driver error here means "not our archive"
            raise NoArchive(f"{self.where} is not a readable tickscope archive: {first_line(exc)}") from exc
        if row is None:
            raise NoArchive(f"{self.where} is not a tickscope archive (no store_schema_version in meta)")
        if int(row[0]) > STORE_SCHEMA_VERSION:
            raise ArchiveError(f"{self.where} has archive schema_version {row[0]}, newer than this tickscope "
                               f"understands ({STORE_SCHEMA_VERSION}); upgrade tickscope")
        self.schema_version = int(row[0])


def first_line(exc: BaseException) -> str:
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


def connect(target: str | Path, read_only: bool) -> tuple:
    """(connection, dialect) for a SQLite path or PostgreSQL URL. Read-only opens never create or change anything."""
    if is_url(target):
        return _connect_postgres(str(target), describe(target), read_only), "postgresql"
    path = Path(target)
    if read_only:
        if not path.exists():
            raise NoArchive(f"no archive at {path}")
        if path.is_dir():
            raise ArchiveError(f"{path} is a directory, not an archive file")
        try:
            conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
            conn.execute("BEGIN")  # one snapshot for the whole read
        except sqlite3.Error as exc:
            raise ArchiveError(f"{path} is not a readable SQLite archive: {first_line(exc)}") from exc
        return conn, "sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA busy_timeout = 30000")
    except sqlite3.Error as exc:
        raise ArchiveError(f"{path} is not a usable SQLite archive: {first_line(exc)}") from exc
    return conn, "sqlite"


def _connect_postgres(url: str, where: str, read_only: bool):
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
        raise ArchiveError(f"cannot open PostgreSQL archive {where}: {first_line(exc)}") from exc
    return conn
