"""Merkle tree: stored hashes built by append_batch vs a naive RFC 9162 reference, every size to 300."""

from __future__ import annotations

import hashlib
import random

import pytest

from decidim_py.transparency import merkle

from .refimpl import Reference

MAX = 300
ENTRIES = [f"entry {i}".encode() for i in range(MAX)]
REF = Reference(ENTRIES)
LEAVES = [merkle.leaf_hash(e) for e in ENTRIES]


class Store:
    """Stored hashes in a dict, counting reads."""

    def __init__(self) -> None:
        self.hashes: dict[tuple[int, int], bytes] = {}
        self.reads: list[tuple[int, int]] = []
        self.batches = 0

    def __call__(self, level: int, index: int) -> bytes:
        self.reads.append((level, index))
        return self.hashes[(level, index)]

    def get_many(self, coords: list[tuple[int, int]]) -> list[bytes]:
        self.batches += 1
        return [self(level, index) for level, index in coords]

    def add(self, new: list[merkle.StoredHash]) -> None:
        for level, index, h in new:
            assert (level, index) not in self.hashes, "stored hashes are written once"
            self.hashes[(level, index)] = h


def _build(sizes_step: list[int]) -> Store:
    store = Store()
    size = 0
    for step in sizes_step:
        store.add(merkle.append_batch(size, LEAVES[size : size + step], store))
        size += step
    return store


@pytest.fixture(scope="module")
def store() -> Store:
    rng = random.Random(9162)
    steps, total = [], 0
    while total < MAX:
        step = min(MAX - total, rng.choice([1, 1, 2, 3, 7, 16, 31]))
        steps.append(step)
        total += step
    return _build(steps)


def _expected_stored(size: int) -> set[tuple[int, int]]:
    out = set()
    level = 0
    while 1 << level <= size:
        out |= {(level, i) for i in range(size >> level)}
        level += 1
    return out


def test_hash_primitives() -> None:
    assert merkle.EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert merkle.tree_hash(0, lambda level, index: b"") == merkle.EMPTY_ROOT


def test_stored_hashes_are_complete_subtrees(store: Store) -> None:
    assert set(store.hashes) == _expected_stored(MAX)
    for (level, index), h in store.hashes.items():
        assert h == REF.mth(index << level, (index + 1) << level)


def test_roots_every_size(store: Store) -> None:
    for size in range(MAX + 1):
        store.reads.clear()
        assert merkle.tree_hash(size, store) == REF.root(size)
        assert len(store.reads) == size.bit_count()  # O(log n) reads


def test_append_one_at_a_time_matches_batches(store: Store) -> None:
    single = Store()
    for size in range(MAX):
        new = merkle.new_hashes_for_append(size, LEAVES[size], single)
        trailing = (size ^ (size + 1)).bit_length() - 1
        assert len(new) == trailing + 1
        assert new[0] == (0, size, LEAVES[size])
        single.add(new)
    assert single.hashes == store.hashes


def test_append_batch_never_reads_its_own_hashes() -> None:
    store = _build([5])
    store.reads.clear()
    new = merkle.append_batch(5, LEAVES[5:200], store)
    assert sorted(store.reads) == sorted(merkle.subtree_coords(0, 5))  # only the old right edge
    assert store.batches == 1
    store.add(new)
    assert set(store.hashes) == _expected_stored(200)
    assert merkle.append_batch(0, LEAVES[:3], None) and merkle.append_batch(7, [], None) == []


def test_inclusion_every_proof(store: Store) -> None:
    rng = random.Random(1)
    for size in range(1, MAX + 1):
        root = REF.root(size)
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, store)
            assert proof == REF.path(index, size)
            assert merkle.verify_inclusion(LEAVES[index], index, size, proof, root)
            if size <= 40 or index % 13 == 0 or index == size - 1:
                _tamper_inclusion(rng, LEAVES[index], index, size, proof, root)


def _tamper_inclusion(rng: random.Random, leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    v = merkle.verify_inclusion
    for i in range(len(proof)):
        bad = list(proof)
        pos = rng.randrange(32)
        bad[i] = bad[i][:pos] + bytes([bad[i][pos] ^ (1 << rng.randrange(8))]) + bad[i][pos + 1 :]
        assert not v(leaf, index, size, bad, root)
    if proof:
        assert not v(leaf, index, size, proof[:-1], root)
        assert not v(leaf, index, size, proof[1:], root)
    assert not v(leaf, index, size, proof + [proof[-1] if proof else leaf], root)
    assert not v(leaf, index, size, [root] + proof, root)
    flipped = bytes([leaf[0] ^ 1]) + leaf[1:]
    assert not v(flipped, index, size, proof, root)
    assert not v(leaf, index, size, proof, bytes([root[-1] ^ 0x80]) + root[1:])
    assert not v(leaf, index, size, proof, root[:31])
    assert not v(leaf, size, size, proof, root)
    # (A proof does not bind the tree size by itself: the signed root does, so size +/- 1 with the
    # same root may or may not verify; the vectors cover the size corner cases.)


def test_consistency_every_proof(store: Store) -> None:
    rng = random.Random(2)
    for new in range(1, MAX + 1):
        new_root = REF.root(new)
        assert merkle.consistency_proof(new, new, store) == []
        assert merkle.verify_consistency(new, new, new_root, new_root, [])
        for old in range(1, new):
            old_root = REF.root(old)
            proof = merkle.consistency_proof(old, new, store)
            assert proof == REF.proof(old, new)
            assert merkle.verify_consistency(old, new, old_root, new_root, proof)
            if new <= 40 or old % 11 == 0 or old == new - 1:
                _tamper_consistency(rng, old, new, old_root, new_root, proof)


def _tamper_consistency(rng: random.Random, old: int, new: int, r1: bytes, r2: bytes, proof: list[bytes]) -> None:
    v = merkle.verify_consistency
    for i in range(len(proof)):
        bad = list(proof)
        pos = rng.randrange(32)
        bad[i] = bad[i][:pos] + bytes([bad[i][pos] ^ (1 << rng.randrange(8))]) + bad[i][pos + 1 :]
        assert not v(old, new, r1, r2, bad)
    assert not v(old, new, r1, r2, proof[:-1])
    assert not v(old, new, r1, r2, proof[1:])
    assert not v(old, new, r1, r2, proof + [r1])
    assert not v(old, new, r1, r2, [r1] + proof)
    assert not v(old, new, r2, r1, proof)
    assert not v(old, new, bytes([r1[0] ^ 1]) + r1[1:], r2, proof)
    assert not v(old, new, r1, bytes([r2[0] ^ 1]) + r2[1:], proof)
    assert not v(new, old, r2, r1, proof)
    assert not v(0, new, merkle.EMPTY_ROOT, r2, proof)


def test_verify_rejects_bad_arguments() -> None:
    root, leaf = REF.root(1), LEAVES[0]
    assert merkle.verify_inclusion(leaf, 0, 1, [], root)
    for args in [
        (leaf, -1, 1, [], root),
        (leaf, 0, 0, [], root),
        (leaf, True, 2, [], root),
        (leaf, 0, 1.0, [], root),
        (leaf[:31], 0, 1, [], root[:31]),
        (leaf, 0, 1, [], root + b"\x00"),
        (leaf, 0, 1, "", root),
        (leaf, 0, 2, [b"\x00" * 31], root),
        ("x" * 32, 0, 1, [], "x" * 32),
    ]:
        assert not merkle.verify_inclusion(*args)  # type: ignore[arg-type]
    r2 = REF.root(2)
    proof = merkle.consistency_proof(1, 2, _build([2]))
    assert merkle.verify_consistency(1, 2, root, r2, proof)
    assert not merkle.verify_consistency(1, 2, root, r2, [p[:31] for p in proof])
    assert not merkle.verify_consistency(1, 2, root[:31], r2, proof)
    assert not merkle.verify_consistency(1, 2, root, r2, tuple(proof) + (b"",))
    assert not merkle.verify_consistency(-1, 2, root, r2, proof)
    assert not merkle.verify_consistency(1, 2, root, r2, None)  # type: ignore[arg-type]
    assert not merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(1, 1, root, root, [root])


def test_proof_arguments_are_checked(store: Store) -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_proof(5, 5, store)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(-1, 5, store)
    with pytest.raises(ValueError):
        merkle.consistency_proof(0, 5, store)
    with pytest.raises(ValueError):
        merkle.consistency_proof(6, 5, store)
    with pytest.raises(ValueError):
        merkle.tree_hash(3, lambda level, index: b"short")
    with pytest.raises(ValueError):
        merkle.tree_hash(3, get_many=lambda coords: [])
    with pytest.raises(ValueError):
        merkle.new_hashes_for_append(0, b"an entry, not a leaf hash", store)
    with pytest.raises(ValueError):
        merkle.subtree_coords(1, 2)


def test_batch_reader_is_used_once(store: Store) -> None:
    store.reads.clear()
    store.batches = 0
    merkle.inclusion_proof(123, 299, store)
    assert store.batches == 1
    seen = []
    proof = merkle.consistency_proof(
        100, 299, get_many=lambda coords: seen.append(list(coords)) or [store.hashes[c] for c in coords]
    )
    assert len(seen) == 1 and proof == REF.proof(100, 299)


def test_compact_range() -> None:
    cr = merkle.CompactRange()
    assert cr.root() == merkle.EMPTY_ROOT and cr.size == 0
    store = Store()
    for size in range(MAX):
        assert cr.root() == REF.root(size)
        restored = merkle.CompactRange.from_json(cr.to_json())
        assert restored == cr
        new = cr.append(LEAVES[size])
        assert new == merkle.new_hashes_for_append(size, LEAVES[size], store)
        store.add(new)
        assert merkle.CompactRange.from_get(size + 1, store) == cr
        assert cr.coords() == merkle.subtree_coords(0, size + 1)
    copy = cr.copy()
    copy.append(LEAVES[0])
    assert copy.size == cr.size + 1 and cr.root() == REF.root(MAX)


@pytest.mark.parametrize(
    "data",
    [
        {"size": 3, "hashes": []},
        {"size": 1, "hashes": ["AAAA"]},
        {"size": 1, "hashes": ["not base64!"]},
        {"size": -1, "hashes": []},
        {"size": 1, "hashes": [1]},
        {"hashes": []},
        {"size": 0, "hashes": [], "extra": 1},
        [],
    ],
)
def test_compact_range_refuses_bad_json(data: object) -> None:
    with pytest.raises(ValueError):
        merkle.CompactRange.from_json(data)
