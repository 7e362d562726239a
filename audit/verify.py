"""Recompute the archive's Merkle log and check every record, head and proof against what is held outside it.

Trust comes only from outside the archive: the public key(s) the verifier pins
(``--public-key``), the witness (the heads published on ``archive.heads``) and
the verifier's own checkpoint (the last head it accepted). Keys stored in the
archive are never trusted.

One pass over the records in log order (linear in their number):

1. each row's ``seq`` is the next leaf index (a gap = a deleted record);
2. each body re-hashes to its ``leaf_hash`` and agrees with its index columns
   and its own ``signal_id`` (a changed record);
3. the recomputed log root after each record equals the stored ``log_root``
   (an insertion, deletion or reordering shows at the first position it changes);

then, with all levels of the tree built once:

4. every stored head is signed by a pinned key and its root is the recomputed
   root at its size; each head's stored consistency proof links it to the head
   before it (a deleted or re-signed head breaks the chain); times never go back;
5. every witness head is in the archive, identical, and its root is the recomputed
   root at its size (``tickscope.audit.verify_outside``): truncation, rollback
   and a rewritten log all fail here; so does a tree smaller than, or
   inconsistent with, the verifier's checkpoint;
6. every record has an inclusion proof in the latest good head; no record lies
   beyond it; an empty archive is not "OK".
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from tickscope.audit.archive_store import Store
from tickscope.audit.heads import Head, key_id, verify_head
from tickscope.audit.merkle import CompactRange, Tree, leaf_hash, verify_consistency, verify_inclusion
from tickscope.contracts.canonical import HASH_FORMS
from tickscope.contracts.ids import signal_id_for
from tickscope.contracts.times import iso_utc

MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    seq: int | None  # the first record the problem concerns (None: a head, not tied to one record)
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
    witness_heads: int = 0
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


def pinned(keys) -> dict[str, bytes]:
    """Trusted keys by key id, from raw 32-byte keys (one, a list, or already a dict)."""
    if isinstance(keys, dict):
        return dict(keys)
    if isinstance(keys, (bytes, bytearray)):
        keys = [bytes(keys)]
    return {key_id(k): k for k in keys}


def verify_store(store: Store, keys, inclusion: bool = True, witness=None, checkpoint: Head | None = None
                 ) -> VerifyResult:
    """Check the whole archive with the pinned ``keys``, against ``witness`` (a WitnessRead) and ``checkpoint``."""
    from tickscope.audit.verify_outside import check_checkpoint, check_witness

    started = time.perf_counter()
    trusted = pinned(keys)
    res = VerifyResult(where=store.where, key_source="the pinned key(s) " + ", ".join(sorted(trusted)))
    leaves, ids = _check_records(store, res)
    res.records = len(leaves)
    tree = Tree(leaves)
    res.root = tree.root()
    heads = store.heads()
    res.heads = len(heads)
    good = _check_heads(heads, tree, ids, trusted, res)
    res.last_head = good
    _check_coverage(leaves, ids, heads, good, inclusion, res)
    if witness is not None:
        check_witness(witness, heads, tree, ids, trusted, res)
    else:
        res.warnings.append("no witness checked: records deleted at the end together with their heads cannot be "
                            "told from a shorter log (pass --witness kafka or --witness FILE)")
    if checkpoint is not None:
        check_checkpoint(checkpoint, good, tree, trusted, res)
    _report_side_tables(store, res)
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
    if rec.hash_form not in HASH_FORMS:
        res.add(seq, rec.signal_id, f"unknown hash form {rec.hash_form}")
        return
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
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        res.add(seq, rec.signal_id, f"record body is not a valid archive record: {type(exc).__name__}: {exc}")


def _check_heads(heads: list[Head], tree: Tree, ids: list[str], keys: dict[str, bytes],
                 res: VerifyResult) -> Head | None:
    """Check every stored head; returns the latest one that verified."""
    n = tree.size
    good: Head | None = None
    legacy = 0
    for head in heads:
        span_start = good.tree_size if good else 0
        seq = min(span_start, n - 1) if n else None
        sid = ids[seq] if seq is not None else None
        key = keys.get(head.key_id)
        if key is None:
            res.add(seq, sid, f"head at size {head.tree_size} is signed by key {head.key_id}, which is not a pinned "
                              "key (a re-keyed archive, or the wrong --public-key)")
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
        legacy += _check_link(good, head, seq, sid, res)
        if good is not None and head.timestamp < good.timestamp:
            res.add(seq, sid, f"head at size {head.tree_size} is dated before the head at size {good.tree_size}")
        res.proofs_checked += 1
        good = head
    if legacy:
        res.warnings.append(f"{legacy} head(s) were written before heads carried consistency proofs (store schema "
                            "1): they are linked by the recomputed log only")
    return good


def _check_link(prev: Head | None, head: Head, seq, sid, res: VerifyResult) -> int:
    """The stored consistency proof from ``prev`` to ``head``; returns 1 for a legacy head without one."""
    if head.from_size is None:
        return 1 if prev is not None else 0
    if prev is None or head.from_size != prev.tree_size:
        before = "none" if prev is None else f"size {prev.tree_size}"
        res.add(seq, sid, f"head at size {head.tree_size} was signed after a head at size {head.from_size}, which "
                          f"the archive does not hold (its previous valid head: {before}): a head was deleted")
        return 0
    if not verify_consistency(prev.tree_size, head.tree_size, prev.root, head.root, list(head.consistency)):
        res.add(seq, sid, f"the stored consistency proof from head {prev.tree_size} to head {head.tree_size} does not "
                          "verify: one of the two heads, or the proof, was changed")
    res.proofs_checked += 1
    return 0


def _check_coverage(leaves, ids, heads, good: Head | None, inclusion: bool, res: VerifyResult) -> None:
    if not leaves and not heads:
        res.add(None, None, "the archive holds no records and no signed head: an archive emptied by deletion looks "
                            "exactly like this (check it against a witness or a checkpoint)")
        return
    if not heads:
        res.add(0, ids[0], f"the archive holds {len(leaves)} records but no signed head")
        return
    if good is None:
        return  # every head failed, and each said why
    if heads[-1].tree_size < len(leaves):  # a bad head is reported by itself; this is about the unsigned tail
        n = heads[-1].tree_size
        res.add(n, ids[n], f"not covered by any signed head (the latest head covers {n} records, the archive "
                           f"holds {len(leaves)}): appended outside the archiver, or its head was deleted")
    if inclusion and good.tree_size > 0:
        size = good.tree_size
        tree = Tree(leaves[:size])
        for i in range(size):
            if not verify_inclusion(i, size, leaves[i], tree.inclusion_proof(i), good.root):
                res.add(i, ids[i], f"inclusion proof in the head at size {size} does not verify")
                return
            res.proofs_checked += 1


def _report_side_tables(store: Store, res: VerifyResult) -> None:
    for gap in store.gaps():
        res.warnings.append(f"GAP: {gap.records} record(s) at {gap.topic}/{gap.partition} offsets "
                            f"{gap.from_offset}..{gap.to_offset - 1} were never archived: {gap.detail}")
    for c in store.conflicts():
        res.warnings.append(f"signal {c['signal_id']} arrived again with different {c['kind'].replace('_', ' ')} "
                            f"from {c['source']} (kept archived seq {c['archived_seq']})")
    rejected = store.rejected()
    if rejected:
        res.warnings.append(f"{len(rejected)} message(s) on the topic could not be archived (table rejected), "
                            f"first: {rejected[0]['source']}: {rejected[0]['reason']}")


def render(res: VerifyResult) -> str:
    lines = []
    if res.ok:
        h = res.last_head
        lines.append(f"tickscope verify: OK {res.where}: {res.records} records, {res.heads} signed heads, "
                     f"{res.witness_heads} witness heads, {res.proofs_checked} proofs checked in {res.seconds:.2f} s")
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
