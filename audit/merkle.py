"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and proof verification.

- leaf hash  = SHA-256(0x00 || data)
- node hash  = SHA-256(0x01 || left || right)
- MTH of n > 1 leaves splits at k = the largest power of two < n:
  MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n])); MTH of no leaves = SHA-256("").

``Tree`` builds every level once (O(n)) and then answers roots of any prefix,
inclusion proofs and consistency proofs in O(log n) or O(log^2 n) hashes,
so checking a whole archive stays linear in its size. ``CompactRange`` is
the append-only frontier (one hash per set bit of the size) the archiver
keeps to extend the log and compute each new root in O(log n).

Proof generation follows RFC 6962 section 2.1.1 (PATH) and 2.1.2 (SUBPROOF);
verification follows RFC 9162 section 2.1.3.2 and 2.1.4.2.
"""

from __future__ import annotations

import hashlib

EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF, _NODE = b"\x00", b"\x01"


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)



class CompactRange:
    """Append-only frontier of a log: the roots of its perfect subtrees, largest first."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []  # one entry per set bit of size, highest bit first

    def append(self, leaf: bytes) -> None:
        node, size = leaf, self.size
        while size & 1:  # merge equal-sized perfect subtrees
            node = node_hash(self._stack.pop(), node)
            size >>= 1
        self._stack.append(node)
        self.size += 1

    def copy(self) -> "CompactRange":
        other = CompactRange()
        other.size, other._stack = self.size, list(self._stack)
        return other

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node

    def nodes(self) -> dict[tuple[int, int], bytes]:
        """The perfect subtrees it holds, by leaf range [lo, hi): the binary decomposition of its size."""
        out, lo = {}, 0
        bits = [1 << b for b in range(self.size.bit_length() - 1, -1, -1) if self.size >> b & 1]
        for width, node in zip(bits, self._stack):
            out[(lo, lo + width)] = node
            lo += width
        return out


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH of a list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def consistency_proof_after(old: CompactRange, new_leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 PROOF(m, D[0:n]) from the frontier at m and the n - m leaves appended after it.

    Every node of such a proof either is a perfect subtree of the old tree (one of the frontier's nodes)
    or lies wholly among the new leaves, so the archiver can prove each new head consistent with the previous
    one in O(batch + log n) without keeping the log in memory.
    """
    m, n = old.size, old.size + len(new_leaves)
    if m == 0 or m == n:
        return []
    held = old.nodes()

    def range_hash(lo: int, hi: int) -> bytes:
        if hi <= m:
            if (lo, hi) not in held:
                raise ValueError(f"range [{lo}, {hi}) is not a node of the frontier at {m}")
            return held[(lo, hi)]
        if lo >= m:
            return mth(new_leaves[lo - m:hi - m])
        raise ValueError(f"range [{lo}, {hi}) straddles the old size {m}")

    def subproof(k_old: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        size = hi - lo
        if k_old == size:
            return [] if whole else [range_hash(lo, hi)]
        k = _split(size)
        if k_old <= k:
            return subproof(k_old, lo, lo + k, whole) + [range_hash(lo + k, hi)]
        return subproof(k_old - k, lo + k, hi, False) + [range_hash(lo, lo + k)]

    return subproof(m, 0, n, True)


class Tree:
    """All levels of the tree over ``leaf_hashes``; proofs for any prefix size."""

    def __init__(self, leaf_hashes: list[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaf_hashes)]
        while len(self.levels[-1]) > 1:
            prev = self.levels[-1]
            nxt = [node_hash(prev[i], prev[i + 1]) for i in range(0, len(prev) - 1, 2)]
            if len(prev) % 2:
                nxt.append(prev[-1])  # an unpaired last node is carried up unchanged (RFC 6962 shape)
            self.levels.append(nxt)
        # levels[h][i] covers leaves [i * 2^h, min((i + 1) * 2^h, size)): a perfect subtree when that range is full

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def _range(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for the ranges RFC 6962 recursion produces (lo aligned to the split)."""
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and lo % n == 0:
            return self.levels[n.bit_length() - 1][lo // n]
        k = _split(n)
        return node_hash(self._range(lo, lo + k), self._range(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} outside 0..{self.size}")
        return self._range(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 6962 PATH(index, D[0:size])."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError(f"leaf {index} not in a tree of size {size}")
        if size == self.size:  # fast path: siblings straight from the levels
            proof, i = [], index
            for level in self.levels[:-1]:
                sibling = i ^ 1
                if sibling < len(level):
                    proof.append(level[sibling])
                i >>= 1
            return proof
        return self._path(index, 0, size)

    def _path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return self._path(m, lo, lo + k) + [self._range(lo + k, hi)]
        return self._path(m - k, lo + k, hi) + [self._range(lo, lo + k)]

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 6962 PROOF(old_size, D[0:new_size])."""
        new_size = self.size if new_size is None else new_size
        if not 0 <= old_size <= new_size <= self.size:
            raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
        if old_size == 0 or old_size == new_size:
            return []
        return self._subproof(old_size, 0, new_size, True)

    def _subproof(self, m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [self._range(lo, hi)]
        k = _split(n)
        if m <= k:
            return self._subproof(m, lo, lo + k, whole) + [self._range(lo + k, hi)]
        return self._subproof(m - k, lo + k, hi, False) + [self._range(lo, lo + k)]


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes | None:
    """RFC 9162 2.1.3.2: the root implied by an inclusion proof, or None if the proof is malformed."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    return root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2."""
    if old_size > new_size or old_size < 0:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof  # the empty tree is consistent with every tree
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node of the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
