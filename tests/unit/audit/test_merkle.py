"""RFC 6962 / RFC 9162 Merkle log: known vectors plus brute-force cross-checks against the RFC definitions."""

from __future__ import annotations

import hashlib
import random

import pytest

from tickscope.audit.merkle import (
    EMPTY_ROOT,
    CompactRange,
    Tree,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

# The 8-leaf test vectors used by the certificate-transparency and transparency-dev implementations.
LEAVES = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", bytes(range(0x50, 0x58)),
          bytes(range(0x60, 0x70))]
ROOTS = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
INCLUSION = {(0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
             (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
             (0, 1): []}
CONSISTENCY = {(1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
               (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
               (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
               (1, 1): []}


def root_of(leaf_hashes: list[bytes]) -> bytes:
    """MTH straight from RFC 6962 2.1, bottom-up: the definition the tree and the compact range must agree with."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]



# ---- the RFC 6962 section 2.1 definitions, written out literally on raw data ----
def _k(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d):
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m, d):
    if len(d) == 1:
        return []
    k = _k(len(d))
    return path(m, d[:k]) + [mth(d[k:])] if m < k else path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, b):
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    return subproof(m, d[:k], b) + [mth(d[k:])] if m <= k else subproof(m - k, d[k:], False) + [mth(d[:k])]


def proof(m, d):
    return subproof(m, d, True) if 0 < m < len(d) else []


def test_hashing_domain_separation():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


def test_known_roots_for_every_size():
    hashes = [leaf_hash(x) for x in LEAVES]
    tree = Tree(hashes)
    for n in range(1, 9):
        assert tree.root(n).hex() == ROOTS[n - 1]
        assert root_of(hashes[:n]).hex() == ROOTS[n - 1]
        cr = CompactRange()
        for h in hashes[:n]:
            cr.append(h)
        assert cr.root().hex() == ROOTS[n - 1]
    assert tree.root(0) == EMPTY_ROOT == CompactRange().root()


@pytest.mark.parametrize("key", sorted(INCLUSION))
def test_known_inclusion_proofs(key):
    index, size = key
    tree = Tree([leaf_hash(x) for x in LEAVES])
    got = tree.inclusion_proof(index, size)
    assert [h.hex() for h in got] == INCLUSION[key]
    assert verify_inclusion(index, size, leaf_hash(LEAVES[index]), got, bytes.fromhex(ROOTS[size - 1]))


@pytest.mark.parametrize("key", sorted(CONSISTENCY))
def test_known_consistency_proofs(key):
    m, n = key
    tree = Tree([leaf_hash(x) for x in LEAVES])
    got = tree.consistency_proof(m, n)
    assert [h.hex() for h in got] == CONSISTENCY[key]
    assert verify_consistency(m, n, bytes.fromhex(ROOTS[m - 1]), bytes.fromhex(ROOTS[n - 1]), got)


def test_every_proof_up_to_40_leaves_matches_the_rfc_definitions_and_verifies():
    rng = random.Random(6962)
    data = [rng.randbytes(rng.randrange(0, 9)) for _ in range(40)]
    hashes = [leaf_hash(x) for x in data]
    tree = Tree(hashes)
    for n in range(1, 41):
        root = mth(data[:n])
        assert tree.root(n) == root
        for i in range(n):
            p = tree.inclusion_proof(i, n)
            assert p == path(i, data[:n])
            assert verify_inclusion(i, n, hashes[i], p, root)
        for m in range(0, n + 1):
            p = tree.consistency_proof(m, n)
            assert p == proof(m, data[:n])
            assert verify_consistency(m, n, tree.root(m), root, p)


def test_wrong_proofs_are_rejected():
    hashes = [leaf_hash(bytes([i])) for i in range(13)]
    tree = Tree(hashes)
    root = tree.root()
    p = tree.inclusion_proof(5)
    assert not verify_inclusion(5, 13, hashes[6], p, root)  # another leaf
    assert not verify_inclusion(6, 13, hashes[5], p, root)  # another position
    assert not verify_inclusion(5, 13, hashes[5], p[:-1], root)  # truncated
    assert not verify_inclusion(5, 13, hashes[5], p + [root], root)  # padded
    assert root_from_inclusion(13, 13, hashes[5], p) is None
    c = tree.consistency_proof(7, 13)
    assert not verify_consistency(7, 13, tree.root(6), root, c)
    assert not verify_consistency(7, 13, tree.root(7), tree.root(12), c)
    assert not verify_consistency(7, 13, tree.root(7), root, c[:-1])
    assert not verify_consistency(7, 13, tree.root(7), root, [])
    assert not verify_consistency(8, 7, tree.root(8), tree.root(7), [])
    forked = Tree(hashes[:3] + [leaf_hash(b"forged")] + hashes[4:])  # history rewritten before size 7
    assert not verify_consistency(7, 13, tree.root(7), forked.root(), forked.consistency_proof(7, 13))


def test_compact_range_copy_is_independent():
    a = CompactRange()
    for i in range(5):
        a.append(leaf_hash(bytes([i])))
    b = a.copy()
    b.append(leaf_hash(b"x"))
    assert a.size == 5 and b.size == 6 and a.root() == root_of([leaf_hash(bytes([i])) for i in range(5)])


def test_consistency_proofs_from_the_frontier_equal_the_rfc_ones():
    from tickscope.audit.merkle import CompactRange, Tree, consistency_proof_after, leaf_hash, verify_consistency

    leaves = [leaf_hash(bytes([i])) for i in range(41)]
    for n in range(1, 41):
        tree = Tree(leaves[:n])
        for m in range(0, n + 1):
            frontier = CompactRange()
            for leaf in leaves[:m]:
                frontier.append(leaf)
            proof = consistency_proof_after(frontier, leaves[m:n])
            assert proof == tree.consistency_proof(m, n), (m, n)
            assert verify_consistency(m, n, tree.root(m), tree.root(n), proof)
