"""RFC 9162 §2.1 Merkle trees (SHA-256) over stored complete-subtree hashes.

Hashing: ``leaf = SHA-256(0x00 || entry)``, ``node = SHA-256(0x01 || left || right)``, the empty tree
hashes to ``SHA-256("")``.

Storage addressing: the stored hash at ``(level, index)`` is the Merkle Tree Hash of the leaves
``[index * 2**level, (index + 1) * 2**level)``: level 0 holds the leaf hashes, and a hash at level
``L > 0`` exists once both of its children ``(L-1, 2*index)`` and ``(L-1, 2*index + 1)`` exist. These
hashes never change once written, which is what makes the tree append-only. Every root and every
proof of RFC 9162 is computed from O(log n) of them.

Readers are callbacks ``get(level, index) -> bytes``. Anything that needs several hashes asks for
them in one batch when a ``get_many(list[(level, index)]) -> list[bytes]`` is available: passed as
the ``get_many`` keyword, or as a ``get_many`` attribute of ``get`` itself.

This module is a pure library: standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

HASH_SIZE = 32
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

HashGetter = Callable[[int, int], bytes]
HashBatchGetter = Callable[[list[tuple[int, int]]], list[bytes]]
StoredHash = tuple[int, int, bytes]  # (level, index, hash)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "HashBatchGetter",
    "HashGetter",
    "StoredHash",
    "append_batch",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "new_hashes_for_append",
    "node_hash",
    "read_hashes",
    "subtree_coords",
    "tree_hash",
    "verify_consistency",
    "verify_inclusion",
]


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + bytes(left) + bytes(right)).digest()


# --------------------------------------------------------------------------------------------
# helpers


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _require_size(name: str, value: Any) -> int:
    if not _is_size(value):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _require_hash(name: str, value: Any) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ValueError(f"{name} must be {HASH_SIZE} bytes")
    return bytes(value)


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2): RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_coords(start: int, size: int) -> list[tuple[int, int]]:
    """Stored-hash coordinates, left to right, whose right fold is MTH(D[start:start+size]).

    ``start`` must be a multiple of the largest power of two not above ``size`` (true for every
    range an RFC 9162 proof uses, and for ``start == 0``).
    """
    _require_size("start", start)
    _require_size("size", size)
    if size and start % (1 << (size.bit_length() - 1)):
        raise ValueError(f"range [{start}, {start + size}) is not aligned to complete subtrees")
    coords: list[tuple[int, int]] = []
    pos = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            coords.append((level, pos >> level))
            pos += 1 << level
    return coords


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold of decreasing complete-subtree hashes: node(h0, node(h1, node(h2, ...)))."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _batch_reader(get: HashGetter | None, get_many: HashBatchGetter | None) -> HashBatchGetter:
    if get_many is None and get is not None:
        get_many = getattr(get, "get_many", None)
    if get_many is not None:
        return get_many
    if get is None:
        raise ValueError("a hash reader (get or get_many) is required")
    reader = get
    return lambda coords: [reader(level, index) for level, index in coords]


def _fetch(coords: Iterable[tuple[int, int]], batch: HashBatchGetter) -> dict[tuple[int, int], bytes]:
    unique = list(dict.fromkeys(coords))
    if not unique:
        return {}
    values = list(batch(unique))
    if len(values) != len(unique):
        raise ValueError(f"hash reader returned {len(values)} hashes for {len(unique)} requested")
    out: dict[tuple[int, int], bytes] = {}
    for coord, value in zip(unique, values, strict=True):
        out[coord] = _require_hash(f"stored hash {coord}", value)
    return out


def read_hashes(
    coords: Sequence[tuple[int, int]], get: HashGetter | None = None, *, get_many: HashBatchGetter | None = None
) -> list[bytes]:
    """Read stored hashes in one batch, checking each is 32 bytes (raises ValueError otherwise)."""
    got = _fetch(coords, _batch_reader(get, get_many))
    return [got[c] for c in coords]


def _ranges_hashes(ranges: Sequence[tuple[int, int]], batch: HashBatchGetter) -> list[bytes]:
    """MTH of each (start, size) range, all stored hashes read in one batch."""
    plans = [subtree_coords(start, size) for start, size in ranges]
    got = _fetch((c for plan in plans for c in plan), batch)
    return [_fold([got[c] for c in plan]) for plan in plans]


# --------------------------------------------------------------------------------------------
# building the tree


def new_hashes_for_append(
    size: int, leaf: bytes, get: HashGetter | None = None, *, get_many: HashBatchGetter | None = None
) -> list[StoredHash]:
    """The stored hashes created when the leaf hash ``leaf`` is appended at index ``size``.

    ``leaf`` is a leaf *hash* (``leaf_hash(entry)``), not an entry. Returns ``(level, index, hash)``
    triples, level 0 first; higher levels appear when a complete subtree is closed. Reads only the
    left siblings it needs (one per trailing 1 bit of ``size``).
    """
    _require_size("size", size)
    h = _require_hash("leaf", leaf)
    levels = 0
    while size >> levels & 1:
        levels += 1
    siblings = [(level, (size >> level) - 1) for level in range(levels)]
    got = _fetch(siblings, _batch_reader(get, get_many)) if siblings else {}
    out: list[StoredHash] = [(0, size, h)]
    index = size
    for level, coord in enumerate(siblings):
        h = node_hash(got[coord], h)
        index >>= 1
        out.append((level + 1, index, h))
    return out


def append_batch(
    size: int,
    leaves: Sequence[bytes],
    get: HashGetter | None = None,
    *,
    get_many: HashBatchGetter | None = None,
) -> list[StoredHash]:
    """Stored hashes created by appending the leaf hashes ``leaves`` at indices ``size, size+1, ...``.

    Reads the tree's right edge once (``popcount(size)`` hashes, one batch, none if ``size == 0``)
    and never asks for a hash created within the batch. The new root is
    ``tree_hash(size + len(leaves), ...)``; or keep a :class:`CompactRange` and skip the reads.
    """
    leaves = [_require_hash(f"leaves[{i}]", h) for i, h in enumerate(leaves)]
    if not leaves:
        _require_size("size", size)
        return []
    cr = CompactRange.from_get(size, get, get_many=get_many) if size else CompactRange()
    return cr.extend(leaves)


# --------------------------------------------------------------------------------------------
# roots and proofs from stored hashes


def tree_hash(size: int, get: HashGetter | None = None, *, get_many: HashBatchGetter | None = None) -> bytes:
    """MTH of the first ``size`` leaves (RFC 9162 §2.1.1), from popcount(size) stored hashes."""
    _require_size("size", size)
    if size == 0:
        return EMPTY_ROOT
    return _ranges_hashes([(0, size)], _batch_reader(get, get_many))[0]


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """(start, size) ranges whose MTHs form PATH(index, D[0:size]), leaf end first."""
    out: list[tuple[int, int]] = []
    lo, n, m = 0, size, index
    while n > 1:
        k = _split(n)
        if m < k:
            out.append((lo + k, n - k))
            n = k
        else:
            out.append((lo, k))
            lo, n, m = lo + k, n - k, m - k
    out.reverse()
    return out


def inclusion_proof(
    index: int, size: int, get: HashGetter | None = None, *, get_many: HashBatchGetter | None = None
) -> list[bytes]:
    """RFC 9162 §2.1.3.1 inclusion proof PATH(index, D[0:size]); requires 0 <= index < size."""
    _require_size("index", index)
    _require_size("size", size)
    if index >= size:
        raise ValueError(f"index {index} is not below tree size {size}")
    return _ranges_hashes(_inclusion_ranges(index, size), _batch_reader(get, get_many))


def _consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """(start, size) ranges whose MTHs form PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1), in order."""
    out: list[tuple[int, int]] = []
    lo, m, n, complete = 0, old, new, True
    while m != n:
        k = _split(n)
        if m <= k:
            out.append((lo + k, n - k))
            n = k
        else:
            out.append((lo, k))
            lo, m, n, complete = lo + k, m - k, n - k, False
    if not complete:
        out.append((lo, m))
    out.reverse()
    return out


def consistency_proof(
    old: int, new: int, get: HashGetter | None = None, *, get_many: HashBatchGetter | None = None
) -> list[bytes]:
    """RFC 9162 §2.1.4.1 consistency proof PROOF(old, D[0:new]).

    Requires ``0 < old <= new``; ``old == new`` gives the empty proof. A consistency proof from the
    empty tree does not exist (every tree extends it), so ``old == 0`` is refused.
    """
    _require_size("old", old)
    _require_size("new", new)
    if old == 0:
        raise ValueError("no consistency proof from the empty tree (old must be > 0)")
    if old > new:
        raise ValueError(f"old size {old} is larger than new size {new}")
    if old == new:
        return []
    return _ranges_hashes(_consistency_ranges(old, new), _batch_reader(get, get_many))


# --------------------------------------------------------------------------------------------
# verification (never raises on bad input: returns False)


def _valid_proof(proof: Any) -> bool:
    if not isinstance(proof, list | tuple):
        return False
    return all(isinstance(p, bytes | bytearray) and len(p) == HASH_SIZE for p in proof)


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show the leaf hash at ``index`` in the tree (size, root)?"""
    if not (_is_size(index) and _is_size(size) and index < size):
        return False
    if not (_valid_proof(proof) and _valid_proof([leaf_hash, root])):
        return False
    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            return False
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
    return sn == 0 and r == bytes(root)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show that tree (old_size, old_root) is a prefix of (new_size, new_root)?

    Equal sizes need an empty proof and equal roots. ``old_size == 0`` is always refused: a proof
    from the empty tree is meaningless (check the new tree some other way).
    """
    if not (_is_size(old_size) and _is_size(new_size)) or old_size == 0 or old_size > new_size:
        return False
    if not isinstance(proof, list | tuple):
        return False
    if old_size == new_size:
        return len(proof) == 0 and isinstance(old_root, bytes | bytearray) and bytes(old_root) == new_root
    if not proof or not (_valid_proof(proof) and _valid_proof([old_root, new_root])):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # exact power of two: the old root is the first node
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = bytes(path[0])
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
    return sn == 0 and fr == bytes(old_root) and sr == bytes(new_root)


# --------------------------------------------------------------------------------------------
# compact range (frontier)


class CompactRange:
    """The right edge of a tree of ``size`` leaves: one complete-subtree hash per 1 bit of ``size``.

    ``hashes[0]`` is the largest (leftmost) subtree. Enough to compute the root and to append
    leaves without reading anything else; serialisable with :meth:`to_json`/:meth:`from_json`.
    """

    __slots__ = ("_size", "_hashes")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        _require_size("size", size)
        hs = [_require_hash("compact range hash", h) for h in hashes]
        if len(hs) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} right-edge hashes, got {len(hs)}")
        self._size = size
        self._hashes = hs

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> list[bytes]:
        return list(self._hashes)

    def coords(self) -> list[tuple[int, int]]:
        """Stored-hash coordinates of :attr:`hashes`, in the same order."""
        return subtree_coords(0, self._size)

    @classmethod
    def from_get(
        cls, size: int, get: HashGetter | None = None, *, get_many: HashBatchGetter | None = None
    ) -> CompactRange:
        """Read the right edge of a tree of ``size`` leaves from stored hashes (one batch)."""
        coords = subtree_coords(0, size)
        got = _fetch(coords, _batch_reader(get, get_many)) if coords else {}
        return cls(size, [got[c] for c in coords])

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._hashes)

    def append(self, leaf_hash: bytes) -> list[StoredHash]:
        """Append one leaf hash; returns the stored hashes it creates (level 0 first)."""
        h = _require_hash("leaf_hash", leaf_hash)
        index = self._size
        out: list[StoredHash] = [(0, index, h)]
        self._hashes.append(h)
        n, level = self._size, 0
        while n & 1:
            right = self._hashes.pop()
            left = self._hashes.pop()
            h = node_hash(left, right)
            self._hashes.append(h)
            n >>= 1
            level += 1
            index >>= 1
            out.append((level, index, h))
        self._size += 1
        return out

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[StoredHash]:
        out: list[StoredHash] = []
        for h in leaf_hashes:
            out.extend(self.append(h))
        return out

    def root(self) -> bytes:
        return _fold(self._hashes)

    def to_json(self) -> dict[str, Any]:
        return {"size": self._size, "hashes": [base64.b64encode(h).decode("ascii") for h in self._hashes]}

    @classmethod
    def from_json(cls, data: Any) -> CompactRange:
        if not isinstance(data, dict) or set(data) != {"size", "hashes"} or not isinstance(data["hashes"], list):
            raise ValueError('a compact range is {"size": int, "hashes": [base64, ...]}')
        hashes = []
        for item in data["hashes"]:
            if not isinstance(item, str):
                raise ValueError("compact range hashes must be base64 strings")
            try:
                raw = base64.b64decode(item, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"bad base64 in compact range: {item!r}") from exc
            if base64.b64encode(raw).decode("ascii") != item:
                raise ValueError(f"non-canonical base64 in compact range: {item!r}")
            hashes.append(raw)
        return cls(data["size"], hashes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()[:16]}…)"
