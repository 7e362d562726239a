"""Recompute the archive's Merkle log and check every record, head and proof.

One pass over the records in log order (linear in their number):

1. each row's ``seq`` is the next leaf index (a gap = a deleted record);
2. each body re-hashes to its ``leaf_hash`` and agrees with its index columns
   and its own ``signal_id`` (a changed record);
3. the recomputed log root after each record equals the ``log_root`` stored
   when it was archived (an insertion, deletion or reordering shows at the
   first position where the order differs);

then, with all levels of the tree built once:

4. every signed tree head has a valid Ed25519 signature and a root equal to
   the recomputed root at its size; consecutive heads are linked by an RFC 6962
   consistency proof and their times do not go backwards;
5. every record has an inclusion proof in the latest head that verifies;
6. no record lies beyond the latest head (an appended record nobody signed).

Checks 1-3 name the exact record for tampering that did not also rewrite the
stored hashes; tampering that did (rewriting leaf hashes and log roots too) is
caught by the signed heads in 4, which bound the first bad record to the
records added since the last head that still verifies (a head is signed in
every archiver transaction, so that span is one batch).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from tickscope.audit.archive_store import Store
from tickscope.audit.heads import Head, key_id, verify_head
from tickscope.audit.merkle import CompactRange, Tree, leaf_hash, verify_consistency, verify_inclusion
from tickscope.contracts.ids import signal_id_for
from tickscope.contracts.times import iso_utc

MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    seq: int | None  # the first record the problem concerns (None: not tied to a record)
    signal_id: str | None
    message: str
    span_end: int | None = None  # set when the bad record is only known to be in [seq, span_end)

    def describe(self) -> str:
        where = "" if self.seq is None else f"record seq {self.seq}" + (f" (signal {self.signal_id})"
                                                                         if self.signal_id else "") + ": "
        return where + self.message


@dataclass
class VerifyResult:
    where: str
    records: int = 0
    heads: int = 0
    proofs_checked: int = 0
    root: bytes | None = None
    last_head: Head | None = None
    key_source: str = ""
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def first_bad(self) -> Problem | None:
        tied = sorted((p for p in self.problems if p.seq is not None), key=lambda p: p.seq)
        if not tied:
            return self.problems[0] if self.problems else None
        first = tied[0]
        if first.span_end is not None:  # a span from the heads: an exact finding inside it names the record
            exact = [p for p in tied if p.span_end is None and p.seq < first.span_end]
            if exact:
                return exact[0]
        return first

    def add(self, seq: int | None, signal_id: str | None, message: str, span_end: int | None = None) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(seq, signal_id, message, span_end))


def verify_store(store: Store, trusted_key: bytes | None = None, inclusion: bool = True,
                 external_heads: list[Head] = ()) -> VerifyResult:
    """Check the whole archive.

    ``trusted_key``: an independently held public key (raw 32 bytes); ``external_heads``: signed heads kept
    outside the archive (e.g. from the ``archive.heads`` topic), which also catch records deleted at the end.
    """
    started = time.perf_counter()
    res = VerifyResult(where=store.where)
    leaves, ids = _check_records(store, res)
    res.records = len(leaves)
    tree = Tree(leaves)
    res.root = tree.root()
    keys = _keys(store, trusted_key, res)
    heads = _merge_heads(store.heads(), list(external_heads), res)
    res.heads = len(heads)
    good = _check_heads(heads, tree, ids, keys, res)
    if heads:
        last = heads[-1]
        res.last_head = last
        if last.tree_size < len(leaves):
            n = last.tree_size
            res.add(n, ids[n], f"not covered by any signed head (the latest head covers {n} records, the archive "
                               f"holds {len(leaves)}): appended outside the archiver, or its head was deleted")
        if inclusion and good is not None and good.tree_size > 0:  # proofs against the latest head that holds
            _check_inclusion(leaves, ids, good, res)
    elif leaves:
        res.add(0, ids[0], f"the archive holds {len(leaves)} records but no signed tree head")
    for c in store.conflicts():
        res.warnings.append(f"signal {c['signal_id']} arrived again with different {c['kind'].replace('_', ' ')} "
                            f"from {c['source']} (kept archived seq {c['archived_seq']})")
    rejected = store.rejected()
    if rejected:
        res.warnings.append(f"{len(rejected)} message(s) on the topic could not be archived (table rejected), "
                            f"first: {rejected[0]['source']}: {rejected[0]['reason']}")
    res.seconds = time.perf_counter() - started
    return res


def _check_records(store: Store, res: VerifyResult) -> tuple[list[bytes], list[str]]:
    leaves: list[bytes] = []
    ids: list[str] = []
    frontier = CompactRange()
    diverged = False
    for rec in store.records():
        expected = len(leaves)
        if rec.seq != expected:
            if rec.seq > expected:
                res.add(expected, None, f"missing: the log jumps from seq {expected - 1} to seq {rec.seq} "
                                        f"(signal {rec.signal_id}); {rec.seq - expected} record(s) deleted")
            else:
                res.add(rec.seq, rec.signal_id, "seq out of order")
        leaf = leaf_hash(rec.body)
        if leaf != rec.leaf_hash:
            res.add(expected, rec.signal_id, "content changed: the stored record no longer hashes to its leaf hash")
        else:
            _check_body(rec, expected, res)
        frontier.append(leaf)
        leaves.append(leaf)
        ids.append(rec.signal_id)
        if not diverged and frontier.root() != rec.log_root:
            diverged = True
            res.add(expected, rec.signal_id, "the log root after this record differs from the one recorded when it "
                                             "was archived: a record at or before this position was changed, "
                                             "inserted, deleted or moved")
    return leaves, ids


def _check_body(rec, seq: int, res: VerifyResult) -> None:
    try:
        obj = json.loads(rec.body)
        cols = {"signal_id": rec.signal_id, "symbol": rec.symbol, "ts": rec.ts, "model_version": rec.model_version,
                "schema_version": rec.schema_version}
        bad = [k for k, v in cols.items() if obj.get(k) != v]
        if bad:
            res.add(seq, rec.signal_id, f"index column(s) {', '.join(bad)} disagree with the record body")
        elif signal_id_for(obj["symbol"], obj["ts"], obj["model_version"]) != obj["signal_id"]:
            res.add(seq, rec.signal_id, "signal_id is not sha256(symbol|ts|model_version): symbol, ts or "
                                        "model_version was altered before archiving")
    except (ValueError, TypeError, KeyError) as exc:
        res.add(seq, rec.signal_id, f"record body is not a valid archive record: {exc}")


def _keys(store: Store, trusted_key: bytes | None, res: VerifyResult) -> dict[str, bytes]:
    stored = store.signing_keys()
    if trusted_key is not None:
        kid = key_id(trusted_key)
        res.key_source = f"the independently held key {kid}"
        if kid not in stored:
            res.warnings.append(f"the trusted key {kid} is not registered in the archive")
        return {kid: trusted_key}
    res.key_source = ("the public key(s) stored in the archive itself ("
                      + ", ".join(sorted(stored)) + "); pass --public-key to check against a key held elsewhere")
    return stored


def _merge_heads(stored: list[Head], external: list[Head], res: VerifyResult) -> list[Head]:
    by_size = {h.tree_size: h for h in stored}
    for h in external:
        mine = by_size.get(h.tree_size)
        if mine is None:
            by_size[h.tree_size] = h
        elif (mine.root, mine.timestamp, mine.signature) != (h.root, h.timestamp, h.signature):
            res.add(None, None, f"the archive's head at size {h.tree_size} differs from the one held outside it "
                                f"(root {mine.root.hex()[:16]} vs {h.root.hex()[:16]})")
            by_size[h.tree_size] = h  # trust the outside copy, check it against the records
    return [by_size[s] for s in sorted(by_size)]


def _check_heads(heads: list[Head], tree: Tree, ids: list[str], keys: dict[str, bytes],
                 res: VerifyResult) -> Head | None:
    """Check every head; returns the latest one that verified."""
    n = tree.size
    good: Head | None = None
    for head in heads:
        key = keys.get(head.key_id)
        span_start = good.tree_size if good else 0
        seq = min(span_start, n - 1) if n else None
        sid = ids[seq] if seq is not None else None
        if key is None:
            res.add(seq, sid, f"head at size {head.tree_size} is signed by key {head.key_id}, which is not trusted")
            continue
        if not verify_head(key, head):
            res.add(seq, sid, f"head at size {head.tree_size} has an invalid signature (the head was altered)")
            continue
        if head.tree_size > n:
            res.add(n if n else None, None, f"the signed head at size {head.tree_size} covers records that are "
                                            f"missing: the archive holds only {n} (records deleted at the end)")
            continue
        if tree.root(head.tree_size) != head.root:
            res.add(seq, sid, f"the signed head at size {head.tree_size} does not match the records: the first bad "
                              f"record is among seq {span_start}..{head.tree_size - 1} (changed, inserted, deleted "
                              "or reordered)", span_end=head.tree_size)
            continue
        if good is not None:
            proof = tree.consistency_proof(good.tree_size, head.tree_size)
            if not verify_consistency(good.tree_size, head.tree_size, good.root, head.root, proof):
                res.add(seq, sid, f"no consistency proof from head {good.tree_size} to head {head.tree_size}")
            if head.timestamp < good.timestamp:
                res.add(seq, sid, f"head at size {head.tree_size} is dated before the head at size {good.tree_size}")
        res.proofs_checked += 1
        good = head
    return good


def _check_inclusion(leaves: list[bytes], ids: list[str], head: Head, res: VerifyResult) -> None:
    size = head.tree_size
    tree = Tree(leaves[:size])
    for i in range(size):
        if not verify_inclusion(i, size, leaves[i], tree.inclusion_proof(i), head.root):
            res.add(i, ids[i], f"inclusion proof in the head at size {size} does not verify")
            return  # the head check above names the cause
        res.proofs_checked += 1


def render(res: VerifyResult) -> str:
    lines = []
    if res.ok:
        h = res.last_head
        lines.append(f"tickscope verify: OK {res.where}: {res.records} records, {res.heads} signed heads, "
                     f"{res.proofs_checked} proofs checked in {res.seconds:.2f} s")
        if h is not None:
            lines.append(f"  latest head: size {h.tree_size} root {h.root.hex()} at {iso_utc(h.timestamp)} "
                         f"key {h.key_id}")
        lines.append(f"  signatures checked with {res.key_source}")
    else:
        first = res.first_bad()
        lines.append(f"tickscope verify: FAILED {res.where}: {res.problem_count} problem(s); first bad: "
                     f"{first.describe() if first else '?'}")
        for p in res.problems[:10]:
            lines.append("  - " + p.describe())
        if res.problem_count > 10:
            lines.append(f"  ... and {res.problem_count - 10} more")
    for w in res.warnings[:10]:
        lines.append("  warning: " + w)
    return "\n".join(lines)
