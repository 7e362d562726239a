"""verify's checks against what is held outside the archive: the witness and the verifier's checkpoint.

Witness (``archive.heads`` or a file of its values): every witness head must be
signed by a pinned key, lie within the archive (a head beyond it = records deleted
at the end, or the archive rolled back), be stored in the archive identically (a
missing one = a deleted head; a different one = a contradiction), and have the
recomputed root at its size (a rewritten log). Successive witness heads are linked
by the consistency proofs they were published with, so a witness that forks fails
even without the records.

Checkpoint (``--checkpoint FILE``): the last head this verifier accepted. The
archive's latest good head must be at least as large and the recomputed log must
prove it consistent with the checkpoint (RFC 6962 consistency proof from the
checkpoint's size to the latest head's). A smaller or inconsistent tree fails, and
both heads are printed as proof of misbehaviour. After an OK the checkpoint moves
to the latest head (``tickscope.audit.checkpoint``).
"""

from __future__ import annotations

from tickscope.audit.heads import Head, verify_head
from tickscope.audit.merkle import Tree, verify_consistency


def check_witness(witness, heads: list[Head], tree: Tree, ids: list[str], keys: dict[str, bytes], res) -> None:
    """``witness``: a ``tickscope.audit.witness.WitnessRead``; problems and warnings go to ``res``."""
    for bad in witness.bad:
        res.add(None, None, f"the witness holds an entry that is not a signed head: {bad}")
    stored = {h.tree_size: h for h in heads}
    n = tree.size
    good: list[Head] = []
    for w in sorted(witness.heads, key=lambda h: h.tree_size):
        key = keys.get(w.key_id)
        if key is None or not verify_head(key, w):
            res.add(None, None, f"the witness head at size {w.tree_size} is not signed by a pinned key "
                                f"(key {w.key_id})")
            continue
        good.append(w)
        res.witness_heads += 1
        if w.tree_size > n:
            res.add(n if n else None, None, f"the witness holds a head at size {w.tree_size} but the archive only "
                                            f"{n} records: records deleted at the end, or the archive rolled back "
                                            f"(witness head: {w.describe()})")
            continue
        mine = stored.get(w.tree_size)
        if mine is None:
            res.add(None, None, f"the archive does not hold the witnessed head at size {w.tree_size}: the head was "
                                f"deleted from the archive (witness head: {w.describe()})")
        elif mine.signed_fields() != w.signed_fields():
            res.add(None, None, f"the archive's head at size {w.tree_size} contradicts the witness: archive "
                                f"{mine.describe()}; witness {w.describe()}")
        if n and tree.root(w.tree_size) != w.root:
            start = good[-2].tree_size if len(good) > 1 else 0
            res.add(min(start, n - 1), ids[min(start, n - 1)], f"the records up to size {w.tree_size} do not hash to "
                    f"the witnessed root: the log was rewritten; the first bad record is among seq "
                    f"{start}..{w.tree_size - 1}", span_end=w.tree_size)
        res.proofs_checked += 1
    check_witness_chain(good, res)
    _witness_coverage(good, heads, res)


def check_witness_chain(good: list[Head], res) -> None:
    for prev, head in zip(good, good[1:]):
        if head.from_size is None or head.from_size != prev.tree_size:
            continue  # a head published after one the witness lacks: the records check links them instead
        if not verify_consistency(prev.tree_size, head.tree_size, prev.root, head.root, list(head.consistency)):
            res.add(None, None, f"the witness heads at sizes {prev.tree_size} and {head.tree_size} are not "
                                f"consistent (the signer forked the log): {prev.describe()}; {head.describe()}")
        res.proofs_checked += 1


def _witness_coverage(good: list[Head], heads: list[Head], res) -> None:
    if not good:
        if heads:
            res.warnings.append("the witness holds no head of this archive: nothing outside the archive vouches "
                                "for it yet (heads not published, or the wrong heads topic)")
        return
    newer = [h for h in heads if h.tree_size > good[-1].tree_size]
    if newer:
        res.warnings.append(f"{len(newer)} stored head(s) are newer than the witness's latest (size "
                            f"{good[-1].tree_size}): not yet published, or the broker was away")


def check_checkpoint(cp: Head, latest: Head | None, tree: Tree, keys: dict[str, bytes], res) -> None:
    """The archive must extend the checkpoint: latest good head >= it and consistent with it."""
    key = keys.get(cp.key_id)
    if key is None or not verify_head(key, cp):
        res.add(None, None, f"the checkpoint head is not signed by a pinned key (key {cp.key_id}): {cp.describe()}")
        return
    if latest is None or latest.tree_size < cp.tree_size:
        got = "no valid head" if latest is None else latest.describe()
        res.add(None, None, f"the archive's tree is smaller than the checkpoint (records deleted or the archive "
                            f"rolled back). Proof of misbehaviour: checkpoint head {cp.describe()}; archive head {got}")
        return
    proof = tree.consistency_proof(cp.tree_size, latest.tree_size) if latest.tree_size <= tree.size else []
    if latest.tree_size > tree.size or not verify_consistency(cp.tree_size, latest.tree_size, cp.root, latest.root,
                                                              proof):
        res.add(None, None, f"the archive is not consistent with the checkpoint: the log up to size {cp.tree_size} "
                            f"was rewritten. Proof of misbehaviour: checkpoint head {cp.describe()}; archive head "
                            f"{latest.describe()}")
        return
    res.proofs_checked += 1
