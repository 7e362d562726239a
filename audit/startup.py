"""The archiver's start check: extend the stored log only if it is exactly what was signed and witnessed.

Before the archiver appends anything it reads every stored leaf hash and checks:

- ``seq`` runs 0..n-1 (nothing deleted or inserted in the middle);
- every stored head is signed by a key the archiver accepts (its own, or one listed
  in ``TICKSCOPE_ARCHIVE_PREVIOUS_PUBLIC_KEYS``), its root is the root of the
  stored leaves at its size, and it follows the head it names as its predecessor
  (a head deleted in the middle breaks that chain);
- the latest head covers every record: records without a head (appended by hand,
  or whose head was deleted) are refused, and so is a log shorter than its head;
- every head on the witness (``archive.heads``) signed by an accepted key is
  contained in the stored log: the log is not shorter than the witness, and its
  root at each witnessed size is the witnessed root.

Any failure raises ``DoubtfulLog`` naming it; the archiver then exits non-zero
and writes nothing. A check that passes hands back the verified frontier (the
archiver never rebuilds it from the database again) and the heads the witness
lacks, to publish.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tickscope.audit.archive_store import DoubtfulLog, Store
from tickscope.audit.heads import Head, verify_head
from tickscope.audit.merkle import CompactRange, Tree


@dataclass
class StartState:
    frontier: CompactRange
    last_head: Head | None
    unwitnessed: list[Head] = field(default_factory=list)  # stored heads not (yet) on the witness, oldest first
    ignored_witness: int = 0  # witness heads signed by keys this archiver does not accept
    notes: list[str] = field(default_factory=list)


def check_log(store: Store, accepted_keys: dict[str, bytes], witness: list[Head] | None) -> StartState:
    """Check the stored log against its heads and the witness; raise ``DoubtfulLog`` or return the state."""
    where = store.where
    leaves = _contiguous_leaves(store)
    tree = Tree(leaves)
    heads = store.heads()
    _check_stored_heads(where, heads, tree, accepted_keys)
    last = heads[-1] if heads else None
    if last is None and leaves:
        raise DoubtfulLog(f"{where} holds {len(leaves)} records but no signed head: records without a head "
                          "(appended outside the archiver, or their heads deleted); refusing to extend it")
    if last is not None and last.tree_size != len(leaves):
        what = ("records without a head: the log has records beyond" if len(leaves) > last.tree_size
                else "the log is shorter than")
        raise DoubtfulLog(f"{where}: {what} its last signed head (head size {last.tree_size}, {len(leaves)} records "
                          "stored); refusing to extend it")
    state = StartState(_frontier(leaves), last)
    if witness is not None:
        _check_witness(where, witness, tree, heads, accepted_keys, state)
    return state


def _contiguous_leaves(store: Store) -> list[bytes]:
    leaves = []
    for seq, leaf in store.leaf_rows():
        if seq != len(leaves):
            raise DoubtfulLog(f"{store.where}: the log jumps from seq {len(leaves) - 1} to seq {seq}: records deleted "
                              "or inserted; refusing to extend it")
        leaves.append(leaf)
    return leaves


def _check_stored_heads(where: str, heads: list[Head], tree: Tree, keys: dict[str, bytes]) -> None:
    prev: Head | None = None
    for head in heads:
        if head.from_size is not None and head.from_size != (prev.tree_size if prev else None):
            raise DoubtfulLog(f"{where}: the head at size {head.tree_size} was signed after a head at size "
                              f"{head.from_size}, which the archive no longer holds: a head was deleted; refusing "
                              "to extend it")
        prev = head
        key = keys.get(head.key_id)
        if key is None:
            raise DoubtfulLog(f"{where}: the head at size {head.tree_size} is signed by key {head.key_id}, not by this "
                              f"archiver's key ({', '.join(sorted(keys))}); if the key was rotated, list the old "
                              "public key in TICKSCOPE_ARCHIVE_PREVIOUS_PUBLIC_KEYS")
        if not verify_head(key, head):
            raise DoubtfulLog(f"{where}: the head at size {head.tree_size} has an invalid signature")
        if head.tree_size > tree.size or tree.root(head.tree_size) != head.root:
            raise DoubtfulLog(f"{where}: the stored log does not match its signed head at size {head.tree_size} "
                              f"(root {head.root.hex()[:16]}): records were changed, deleted or reordered; "
                              "refusing to extend it")


def _check_witness(where: str, witness: list[Head], tree: Tree, heads: list[Head], keys: dict[str, bytes],
                   state: StartState) -> None:
    mine = {h.tree_size: h for h in heads}
    seen: set[int] = set()
    for w in sorted(witness, key=lambda h: h.tree_size):
        key = keys.get(w.key_id)
        if key is None or not verify_head(key, w):
            state.ignored_witness += 1
            continue
        if w.tree_size > tree.size:
            raise DoubtfulLog(f"{where}: the log is shorter than the witness (the witness holds a head at size "
                              f"{w.tree_size}, the archive {tree.size} records): records were deleted at the end "
                              "or the archive was rolled back; refusing to extend it")
        if tree.root(w.tree_size) != w.root:
            raise DoubtfulLog(f"{where}: the stored log contradicts the witness head at size {w.tree_size} "
                              f"(witnessed root {w.root.hex()[:16]}): refusing to extend it")
        stored = mine.get(w.tree_size)
        if stored is not None and stored.signed_fields() != w.signed_fields():
            raise DoubtfulLog(f"{where}: two different signed heads at size {w.tree_size} (archive and witness)")
        seen.add(w.tree_size)
    state.unwitnessed = [h for h in heads if h.tree_size not in seen]
    if state.ignored_witness:
        state.notes.append(f"{state.ignored_witness} head(s) on the witness are signed by other keys; ignored")


def _frontier(leaves: list[bytes]) -> CompactRange:
    frontier = CompactRange()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier
