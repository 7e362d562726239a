"""The durable archive: appending batches and reading records, heads and offsets (SQL in ``store_schema``).

Every archived record is one leaf of an append-only RFC 6962 Merkle log:
``records.seq`` is its 0-based leaf index, ``body`` the canonical bytes (RFC 8785
for new records, ``hash_form`` says which) hashed into ``leaf_hash``, and
``log_root`` the log's root just after it was appended. One transaction holds a
batch of records, the consumer offsets they came from and a signed tree head over
the new size (with the consistency proof from the previous head), so a crash leaves
either all of it or none of it.

A writable store appends only after the archiver has checked the stored log against
its last signed head (``tickscope.audit.startup``) and handed it the frontier it
verified (``adopt``). From then on the frontier lives in memory and is never
rebuilt from the database: if the database's log size or latest head stops
matching it, the append is refused instead of signing whatever the database holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from tickscope.audit.heads import Head, Signer
from tickscope.audit.intake import Accepted, intake
from tickscope.audit.merkle import CompactRange, consistency_proof_after, leaf_hash, verify_consistency
from tickscope.audit.store_records import (
    BatchResult,
    DoubtfulLog,
    Gap,
    Incoming,
    StoredRecord,
    without_wall_clock,
)
from tickscope.audit.store_schema import (
    STORE_SCHEMA_VERSION,
    ArchiveError,
    SqlArchive,
    connect,
    describe,
    first_line,
    is_url,
)
from tickscope.contracts.records import DeadLetter

__all__ = ["STORE_SCHEMA_VERSION", "ArchiveError", "BatchResult", "DoubtfulLog", "Gap", "Incoming", "Store",
           "StoredRecord", "describe", "is_url", "open_store", "without_wall_clock"]


_RECORD_COLUMNS = ("seq, signal_id, symbol, ts, model_version, schema_version, body, leaf_hash, log_root, "
                   "source, archived_at")


class Store(SqlArchive):
    """One open archive. ``read_only`` stores never write (verify, replay, export)."""

    def __init__(self, conn, dialect: str, where: str, read_only: bool):
        super().__init__(conn, dialect, where, read_only)
        self.frontier: CompactRange | None = None
        self.last_head: Head | None = None

    # ---- writing (archiver)
    def adopt(self, frontier: CompactRange, last_head: Head | None) -> None:
        """Take the frontier and latest head the start check verified; appends extend exactly these."""
        self.frontier, self.last_head = frontier.copy(), last_head

    def register_key(self, signer: Signer, now_ms: int) -> None:
        """Note the key's public half in ``signing_keys`` (for people; verify never trusts this table)."""
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
        if self.frontier is None:
            if not self.is_empty():
                raise ArchiveError(f"{self.where}: the stored log was not checked against its last signed head "
                                   "(tickscope.audit.startup.check_log) before appending")
            self.adopt(CompactRange(), None)  # an empty log has nothing to doubt
        out = BatchResult()
        self._begin_write()
        try:
            self._require_unchanged()
            work = self.frontier.copy()
            new_leaves: list[bytes] = []
            for item in items:
                self._archive_one(item, work, new_leaves, now_ms, out)
            self._store_offsets(offsets)
            if out.appended:
                out.head = self._sign(signer, work, new_leaves, now_ms)
            self._commit()
        except Exception:
            self._rollback()
            raise
        self.frontier = work
        if out.head is not None:
            self.last_head = out.head
        return out

    def _require_unchanged(self) -> None:
        """The database's log still has the size and latest head this archiver last signed, or nothing is written."""
        size = int(self._one("SELECT COUNT(*) FROM records")[0])
        row = self._one("SELECT tree_size, root, signature FROM heads ORDER BY tree_size DESC LIMIT 1")
        mine = None if self.last_head is None else (self.last_head.tree_size, self.last_head.root,
                                                    self.last_head.signature)
        theirs = None if row is None else (int(row[0]), bytes(row[1]), bytes(row[2]))
        if size != self.frontier.size or theirs != mine:
            raise DoubtfulLog(f"{self.where} changed under the archiver: it holds {size} records and latest head "
                              f"{'none' if theirs is None else theirs[0]}, the archiver signed "
                              f"{self.frontier.size} records and head {'none' if mine is None else mine[0]}; "
                              "refusing to sign it. Run tickscope verify")

    def _sign(self, signer: Signer, work: CompactRange, new_leaves: list[bytes], now_ms: int) -> Head:
        prev = self.last_head
        proof = consistency_proof_after(self.frontier, new_leaves) if prev is not None else []
        if prev is not None and not verify_consistency(prev.tree_size, work.size, prev.root, work.root(), proof):
            raise DoubtfulLog(f"{self.where}: the new log is not consistent with the last signed head "
                              f"(size {prev.tree_size}); refusing to sign")
        stamp = max(now_ms, prev.timestamp if prev is not None else 0)  # a clock step back never dates heads back
        head = signer.sign(work.size, work.root(), stamp, prev.tree_size if prev is not None else None, tuple(proof))
        self._exec("INSERT INTO heads (tree_size, root, timestamp, key_id, signature, from_size, consistency) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", (head.tree_size, head.root, head.timestamp, head.key_id,
                                                    head.signature, head.from_size, b"".join(head.consistency)))
        return head

    def _store_offsets(self, offsets: dict[tuple[str, int], int]) -> None:
        for (topic, partition), nxt in offsets.items():
            if self._one("SELECT next_offset FROM offsets WHERE topic = ? AND kafka_partition = ?",
                         (topic, partition)) is None:
                self._exec("INSERT INTO offsets (topic, kafka_partition, next_offset) VALUES (?, ?, ?)",
                           (topic, partition, nxt))
            else:
                self._exec("UPDATE offsets SET next_offset = ? WHERE topic = ? AND kafka_partition = ?",
                           (nxt, topic, partition))

    def _archive_one(self, item: Incoming, work: CompactRange, new_leaves: list[bytes], now_ms: int,
                     out: BatchResult) -> None:
        checked = intake(item.value, item.key, item.origin())
        if isinstance(checked, DeadLetter):
            self._reject(item, checked, now_ms, out)
            return
        self._append_accepted(item, checked, work, new_leaves, now_ms, out)

    def _reject(self, item: Incoming, letter: DeadLetter, now_ms: int, out: BatchResult) -> None:
        self._exec("INSERT INTO rejected (reason, detail, raw_value, raw_key, source, received_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (letter.reason, letter.detail, item.value, item.key, item.source,
                                                 now_ms))
        out.rejected += 1
        out.rejected_reasons.append(letter.reason)
        out.notes.append(f"rejected {item.source}: {letter.reason}: {letter.detail[:200]}")

    def _append_accepted(self, item: Incoming, rec: Accepted, work: CompactRange, new_leaves: list[bytes],
                         now_ms: int, out: BatchResult) -> None:
        obj, body = rec.value, rec.body
        leaf = leaf_hash(body)
        row = self._one("SELECT seq, leaf_hash, body FROM records WHERE signal_id = ?", (obj["signal_id"],))
        if row is not None:
            self._duplicate_or_conflict(item, obj, body, leaf, row, now_ms, out)
            return
        work.append(leaf)
        new_leaves.append(leaf)
        self._exec(f"INSERT INTO records ({_RECORD_COLUMNS}, hash_form) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (work.size - 1, obj["signal_id"], obj["symbol"], obj["ts"], obj["model_version"],
                    obj["schema_version"], body, leaf, work.root(), item.source, now_ms, rec.hash_form))
        out.appended += 1

    def _duplicate_or_conflict(self, item, obj, body, leaf, row, now_ms, out) -> None:
        if bytes(row[1]) == leaf:
            out.duplicates += 1
            return
        try:
            same = without_wall_clock(json.loads(bytes(row[2]))) == without_wall_clock(obj)
        except ValueError:
            same = False
        kind = "wall_clock_only" if same else "content"
        self._exec("INSERT INTO conflicts (signal_id, archived_seq, kind, body, source, received_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (obj["signal_id"], int(row[0]), kind, body, item.source, now_ms))
        out.conflicts += 1
        out.notes.append(f"signal {obj['signal_id']} arrived again from {item.source} with different "
                         f"{'wall-clock fields' if same else 'content'}; kept the first (seq {row[0]}), "
                         "flagged the second in conflicts")

    def record_gap(self, gap: Gap, now_ms: int) -> None:
        """Write a gap and move the partition's stored offset past it, in one transaction."""
        self._begin_write()
        try:
            self._exec("INSERT INTO gaps (topic, kafka_partition, from_offset, to_offset, detected_at, detail) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (gap.topic, gap.partition, gap.from_offset, gap.to_offset,
                                                     now_ms, gap.detail))
            self._store_offsets({(gap.topic, gap.partition): gap.to_offset})
            self._commit()
        except Exception:
            self._rollback()
            raise

    # ---- reading
    def offsets(self) -> dict[tuple[str, int], int]:
        rows = self._exec("SELECT topic, kafka_partition, next_offset FROM offsets")
        return {(t, int(p)): int(o) for t, p, o in rows}

    def count(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM records")[0])

    def is_empty(self) -> bool:
        return self.count() == 0 and self._one("SELECT COUNT(*) FROM heads")[0] == 0

    def records(self, symbol: str | None = None, ts_from: int | None = None, ts_to: int | None = None,
                signal_id: str | None = None, model_version: str | None = None,
                order: str = "seq") -> Iterator[StoredRecord]:
        where, params = [], []
        for cond, val in (("symbol = ?", symbol), ("ts >= ?", ts_from), ("ts <= ?", ts_to),
                          ("signal_id = ?", signal_id), ("model_version = ?", model_version)):
            if val is not None:
                where.append(cond)
                params.append(val)
        form = "hash_form" if self.schema_version >= 2 else "1"
        q = f"SELECT {_RECORD_COLUMNS}, {form} FROM records"
        if where:
            q += " WHERE " + " AND ".join(where)
        q += " ORDER BY " + ("seq" if order == "seq" else "ts, seq")
        for r in self._exec(q, tuple(params)):
            yield StoredRecord(int(r[0]), r[1], r[2], int(r[3]), r[4], int(r[5]), bytes(r[6]), bytes(r[7]),
                               bytes(r[8]), r[9], int(r[10]), int(r[11]))

    def leaf_rows(self) -> list[tuple[int, bytes]]:
        """(seq, leaf_hash) of every record in log order: what the archiver's start check reads."""
        return [(int(s), bytes(h)) for s, h in self._exec("SELECT seq, leaf_hash FROM records ORDER BY seq")]

    def leaf_hashes(self) -> list[bytes]:
        return [h for _, h in self.leaf_rows()]

    def heads(self) -> list[Head]:
        if self.schema_version < 2:
            rows = self._exec("SELECT tree_size, root, timestamp, key_id, signature, NULL, NULL FROM heads "
                              "ORDER BY tree_size")
        else:
            rows = self._exec("SELECT tree_size, root, timestamp, key_id, signature, from_size, consistency "
                              "FROM heads ORDER BY tree_size")
        out = []
        for s, r, t, k, sig, frm, proof in rows:
            blob = bytes(proof or b"")
            out.append(Head(int(s), bytes(r), int(t), k, bytes(sig), None if frm is None else int(frm),
                            tuple(blob[i:i + 32] for i in range(0, len(blob), 32))))
        return out

    def signing_keys(self) -> dict[str, bytes]:
        return {k: bytes(p) for k, p in self._exec("SELECT key_id, public_key FROM signing_keys")}

    def conflicts(self) -> list[dict]:
        cols = ("signal_id", "archived_seq", "kind", "source", "received_at")
        return [dict(zip(cols, r)) for r in
                self._exec(f"SELECT {', '.join(cols)} FROM conflicts ORDER BY id")]

    def rejected(self) -> list[dict]:
        cols = ("reason", "detail", "source", "received_at")
        return [dict(zip(cols, r)) for r in self._exec(f"SELECT {', '.join(cols)} FROM rejected ORDER BY id")]

    def gaps(self) -> list[Gap]:
        if self.schema_version < 2:
            return []
        rows = self._exec("SELECT topic, kafka_partition, from_offset, to_offset, detail FROM gaps ORDER BY id")
        return [Gap(t, int(p), int(a), int(b), d) for t, p, a, b, d in rows]


def open_store(target: str | Path, read_only: bool) -> Store:
    """Open an archive by SQLite path or PostgreSQL URL. Read-only opens never create or change anything."""
    conn, dialect = connect(target, read_only)
    store = Store(conn, dialect, describe(target), read_only)
    try:
        store.check_schema() if read_only else store.init_schema()
    except ArchiveError:
        conn.close()
        raise
    except Exception as exc:  # noqa: BLE001 - a driver error while creating or checking the tables
        conn.close()
        raise ArchiveError(f"{store.where} is not a usable archive: {first_line(exc)}") from exc
    return store
