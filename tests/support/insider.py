"""The insider: someone with write access to the archive database and the data directory, and nothing more.

They cannot read or write the signing key's store, the witness, or what the
verifier holds (its pinned public key and its checkpoint). Everything here is
done with the project's own code (``tickscope.audit.merkle``, ``heads``, the RFC
8785 form), as an insider with the source would: edit rows, then recompute every
hash they can without the key, so that only the signed heads, the witness or the
checkpoint can give them away. ``fingerprint`` lets a test prove an attack
changed what it meant to change, and that a refusal wrote nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from tickscope.audit.heads import Signer
from tickscope.audit.merkle import CompactRange, leaf_hash
from tickscope.contracts.canonical import canonical_jcs

TABLES = ("records", "heads", "signing_keys", "offsets", "rejected", "conflicts", "gaps", "meta")


@dataclass
class Archive:
    """One archive under attack: where it is, its real signer (held by the archiver, not the insider)."""

    target: str | Path
    data_dir: Path
    signer: Signer
    witness: list[bytes] = field(default_factory=list)  # heads as published, captured before any attack

    @property
    def is_postgres(self) -> bool:
        return str(self.target).startswith("postgres")

    def connect(self):
        if self.is_postgres:
            import psycopg

            return psycopg.connect(str(self.target), autocommit=False)
        import sqlite3

        return sqlite3.connect(self.target)

    def sql(self, q: str, params: tuple = ()) -> list:
        con = self.connect()
        try:
            cur = con.cursor()
            cur.execute(q.replace("?", "%s") if self.is_postgres else q, params)
            rows = cur.fetchall() if cur.description else []
            con.commit()
            return rows
        finally:
            con.close()

    def fingerprint(self) -> str:
        """sha256 over every row of every table: equal before and after = nothing was written."""
        h = hashlib.sha256()
        for table in TABLES:
            try:
                rows = self.sql(f"SELECT * FROM {table}")
            except Exception:  # noqa: BLE001 - a table an old schema lacks
                continue
            for row in sorted(repr(tuple(bytes(c) if isinstance(c, memoryview) else c for c in r)) for r in rows):
                h.update(table.encode() + row.encode())
        return h.hexdigest()

    def bodies(self) -> dict[int, bytes]:
        return {int(s): bytes(b) for s, b in self.sql("SELECT seq, body FROM records ORDER BY seq")}

    def head_sizes(self) -> list[int]:
        return [int(r[0]) for r in self.sql("SELECT tree_size FROM heads ORDER BY tree_size")]

    # ---- what the insider does
    def rehash_log(self) -> None:
        """Recompute every leaf hash and log root from the stored bodies, in seq order (no key needed)."""
        frontier = CompactRange()
        for seq, body in self.bodies().items():
            frontier.append(leaf_hash(body))
            self.sql("UPDATE records SET leaf_hash = ?, log_root = ? WHERE seq = ?",
                     (leaf_hash(body), frontier.root(), seq))

    def edit_body(self, seq: int, change) -> None:
        body = json.loads(self.bodies()[seq])
        change(body)
        self.sql("UPDATE records SET body = ? WHERE seq = ?", (canonical_jcs(body), seq))

    def delete_from(self, seq: int) -> None:
        """Delete records from ``seq`` on, and every head that covered them."""
        self.sql("DELETE FROM records WHERE seq >= ?", (seq,))
        self.sql("DELETE FROM heads WHERE tree_size > ?", (seq,))

    def renumber(self) -> None:
        """Close the holes in seq after a deletion (so no gap shows), keeping the order."""
        for new, (old, _) in enumerate(self.bodies().items()):
            if new != old:
                self.sql("UPDATE records SET seq = ? WHERE seq = ?", (new, old))

    def swap(self, a: int, b: int) -> None:
        self.sql("UPDATE records SET seq = -1 WHERE seq = ?", (a,))
        self.sql("UPDATE records SET seq = ? WHERE seq = ?", (a, b))
        self.sql("UPDATE records SET seq = ? WHERE seq = -1", (b,))

    def resign_heads(self, attacker: Signer) -> None:
        """Replace every head with one the attacker signs over the current (forged) log, and the registered key."""
        sizes = self.head_sizes()
        leaves = [leaf_hash(b) for b in self.bodies().values()]
        self.sql("DELETE FROM heads")
        frontier = CompactRange()
        for i, leaf in enumerate(leaves):
            frontier.append(leaf)
            if frontier.size in sizes or i == len(leaves) - 1:
                h = attacker.sign(frontier.size, frontier.root(), 1_700_000_000_000 + i)
                self.sql("INSERT INTO heads (tree_size, root, timestamp, key_id, signature) VALUES (?, ?, ?, ?, ?)",
                         (h.tree_size, h.root, h.timestamp, h.key_id, h.signature))
        self.sql("DELETE FROM signing_keys")
        self.sql("INSERT INTO signing_keys (key_id, public_key, added_at) VALUES (?, ?, 1)",
                 (attacker.key_id, attacker.public_raw))

    def append_verbatim(self, values: list[dict], signer: Signer, form=None) -> None:
        """Append records without the archiver's checks, as an older archiver stored them, with the heads it
        signed then (``signer`` is the real key: this is what the archive really held, not a forgery)."""
        from tickscope.contracts.canonical import canonical_json

        form = form or canonical_json
        leaves = [leaf_hash(b) for b in self.bodies().values()]
        frontier = CompactRange()
        for leaf in leaves:
            frontier.append(leaf)
        for v in values:
            body = form(v)
            frontier.append(leaf_hash(body))
            self.sql("INSERT INTO records (seq, signal_id, symbol, ts, model_version, schema_version, body, "
                     "leaf_hash, log_root, source, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (frontier.size - 1, str(v["signal_id"]), str(v["symbol"]), int(v["ts"]), str(v["model_version"]),
                      int(v["schema_version"]), body, leaf_hash(body), frontier.root(), "old-archiver", 1))
        h = signer.sign(frontier.size, frontier.root(), 1_800_000_000_000)
        self.sql("INSERT INTO heads (tree_size, root, timestamp, key_id, signature) VALUES (?, ?, ?, ?, ?)",
                 (h.tree_size, h.root, h.timestamp, h.key_id, h.signature))
