"""A naive, recursive reference for RFC 9162 §2.1 (MTH, PATH, PROOF), written from the RFC text.

Ranges of one entry list, with MTH memoised so that exhaustive tests over many sizes stay fast.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache


def _leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Reference:
    def __init__(self, entries: list[bytes]) -> None:
        self.d = list(entries)
        self.mth = lru_cache(maxsize=None)(self._mth)

    def _mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi])."""
        n = hi - lo
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return _leaf(self.d[lo])
        k = _k(n)
        return _node(self.mth(lo, lo + k), self.mth(lo + k, hi))

    def root(self, n: int) -> bytes:
        return self.mth(0, n)

    def path(self, m: int, n: int, lo: int = 0) -> list[bytes]:
        """PATH(m, D[lo:lo+n])."""
        if n == 1:
            return []
        k = _k(n)
        if m < k:
            return self.path(m, k, lo) + [self.mth(lo + k, lo + n)]
        return self.path(m - k, n - k, lo + k) + [self.mth(lo, lo + k)]

    def _subproof(self, m: int, n: int, b: bool, lo: int) -> list[bytes]:
        if m == n:
            return [] if b else [self.mth(lo, lo + m)]
        k = _k(n)
        if m <= k:
            return self._subproof(m, k, b, lo) + [self.mth(lo + k, lo + n)]
        return self._subproof(m - k, n - k, False, lo + k) + [self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        """PROOF(m, D[n]) for 0 < m < n."""
        return self._subproof(m, n, True, 0)
