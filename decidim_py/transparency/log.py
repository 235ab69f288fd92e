"""The organisation's verifiable log: integrator, signing keys, stored hashes, proofs.

`record()` writes an outbox row in the decision's transaction. The integrator takes pending rows
in order, assigns indices, extends the hash tiles (one row per tile; a partial tile grows as a
prefix), computes the root and signs a checkpoint, all in one transaction, once at a time (an
advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite). It refuses to sign a tree whose first
`size` leaves do not hash to the previous checkpoint's root.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..db import utcnow
from . import merkle, note
from .models import LogCheckpoint, LogEntry, LogKey, LogOutbox, LogTile

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
BATCH = 256


def origin_for(org: Any) -> str:
    return f"{org.host}/transparency/log"


# --- keys --------------------------------------------------------------------------------------


def _log_secret() -> bytes:
    secret = current_app.config.get("LOG_SECRET") or os.environ.get("DECIDIM_LOG_SECRET")
    if secret:
        return secret.encode()
    from ..identity.keys import _secrets

    # No separate secret configured: derive one from the identity secret (kept outside the database).
    return hmac.new(_secrets()["identity"].encode(), b"decidim-py/log-signing", hashlib.sha256).digest()


def signer(org: Any, generation: int) -> note.Signer:
    seed = hmac.new(_log_secret(), f"decidim-py/log/organization/{org.id}/generation/{generation}".encode(),
                    hashlib.sha256).digest()
    return note.Signer(origin_for(org), seed)


def active_keys(session: Session, org: Any) -> list[LogKey]:
    rows = list(session.scalars(select(LogKey).where(LogKey.organization_id == org.id,
                                                     LogKey.retired_at.is_(None)).order_by(LogKey.generation)))
    if not rows:
        key = LogKey(organization_id=org.id, generation=1, verifier_key=signer(org, 1).verifier().key_string())
        session.add(key)
        session.flush()
        rows = [key]
    return rows


def all_keys(session: Session, org_id: int) -> list[LogKey]:
    return list(session.scalars(select(LogKey).where(LogKey.organization_id == org_id).order_by(LogKey.generation)))


# --- stored hashes -----------------------------------------------------------------------------


_FULL_TILES: OrderedDict[tuple[str, int, int, int], bytes] = OrderedDict()
_FULL_TILES_MAX = 8192  # full tiles never change: keep up to 64 MiB of them in each serving process
_full_tiles_lock = threading.Lock()


def _remember_full_tile(key: tuple[str, int, int, int], data: bytes) -> None:
    with _full_tiles_lock:
        _FULL_TILES[key] = data
        while len(_FULL_TILES) > _FULL_TILES_MAX:
            _FULL_TILES.popitem(last=False)


# Full tiles above level 0 are few (one per 65,536 entries) and on every proof's path: keep their
# interior hashes too, computed once.
_PYRAMIDS: dict[tuple[str, int, int, int, int], list[list[bytes]]] = {}


def _pyramid(data: bytes) -> list[list[bytes]]:
    """Every complete subtree hash of a tile (a partial tile: only the complete ones)."""
    layer = [data[i:i + 32] for i in range(0, len(data), 32)]
    levels = [layer]
    while len(layer) > 1:
        layer = [sha256(b"\x01" + layer[i] + layer[i + 1]).digest() for i in range(0, len(layer) - 1, 2)]
        levels.append(layer)
    return levels


def forget_full_tiles() -> None:
    """Empty the process-wide caches of full tiles (benchmarks of cold reads)."""
    with _full_tiles_lock:
        _FULL_TILES.clear()
        _PYRAMIDS.clear()


class TileStore:
    """Reads stored hashes (level, index) from the organisation's tiles, with a per-use cache;
    collects the tiles to write."""

    def __init__(self, session: Session, org_id: int, *, shared_cache: bool = True) -> None:
        self.session, self.org_id = session, org_id
        # The process-wide cache of full tiles is for serving proofs; the integrator reads the
        # database every time, so that it notices a tile changed behind its back.
        self.shared = shared_cache
        bind = session.get_bind()
        self.db_key = str(getattr(bind, "url", None) or bind.engine.url)
        self.cache: dict[tuple[int, int], bytes] = {}
        self.dirty: set[tuple[int, int]] = set()

    def tile(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self.cache:
            data = self.session.scalar(select(LogTile.data).where(
                LogTile.organization_id == self.org_id, LogTile.level == level, LogTile.index == index))
            self.cache[key] = data or b""
        return self.cache[key]

    def get(self, level: int, index: int) -> bytes:
        """The complete-subtree hash (level, index), computed from the bottom row of its tile."""
        return self.get_many([(level, index)])[0]

    def get_many(self, coords: list[tuple[int, int]]) -> list[bytes]:
        """Many stored hashes at once: the tiles they need are read in one query."""
        wanted = {(lv // TILE_HEIGHT, (ix << (lv % TILE_HEIGHT)) // TILE_WIDTH) for lv, ix in coords}
        missing = []
        for k in wanted:
            if k in self.cache:
                continue
            shared = _FULL_TILES.get((self.db_key, self.org_id, *k)) if self.shared else None
            if shared is not None:
                self.cache[k] = shared
            else:
                missing.append(k)
        if missing:
            rows = self._fetch_tiles(missing)
            pairs = set(missing)
            for lv, ix, data in rows:
                if (lv, ix) not in pairs:
                    continue
                self.cache[(lv, ix)] = data
                if self.shared and len(data) == TILE_WIDTH * 32:
                    _remember_full_tile((self.db_key, self.org_id, lv, ix), data)
            for key in missing:
                self.cache.setdefault(key, b"")
        return [self._subtree(level, index) for level, index in coords]

    def _fetch_tiles(self, missing: list[tuple[int, int]]) -> Any:
        """One query for the tiles a proof needs (on the hot path of every proof: a plain driver
        statement, IN on both columns, a few extra rows at most; exact pairs are kept by the caller)."""
        conn = self.session.connection()
        levels = sorted({lv for lv, _ in missing})
        indexes = sorted({ix for _, ix in missing})
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = (f'SELECT level, "index", data FROM transparency_tiles WHERE organization_id = {mark} '
               f"AND level IN ({', '.join([mark] * len(levels))}) "
               f"AND \"index\" IN ({', '.join([mark] * len(indexes))})")
        result = conn.exec_driver_sql(sql, (self.org_id, *levels, *indexes))
        return [(lv, ix, bytes(data)) for lv, ix, data in result]

    def _subtree(self, level: int, index: int) -> bytes:
        t_level, sub = divmod(level, TILE_HEIGHT)
        first = index << sub
        t_index, offset = divmod(first, TILE_WIDTH)
        data = self.cache.get((t_level, t_index))
        if data is None:
            data = self.tile(t_level, t_index)
        if self.shared and t_level >= 1 and data:
            # Tiles above level 0 are few and on every proof's path: their interior hashes are
            # computed once per tile content (a partial tile gets a new pyramid when it grows).
            key = (self.db_key, self.org_id, t_level, t_index, len(data))
            pyramid = _PYRAMIDS.get(key)
            if pyramid is None:
                pyramid = _pyramid(data)
                with _full_tiles_lock:
                    if len(_PYRAMIDS) > 4096:
                        _PYRAMIDS.clear()
                    _PYRAMIDS[key] = pyramid
            row = pyramid[sub] if sub < len(pyramid) else []
            if (offset >> sub) < len(row):
                return row[offset >> sub]
        count = 1 << sub
        if len(data) < (offset + count) * 32:
            raise LookupError(f"stored hash ({level}, {index}) is not in the tiles")
        layer = [data[i:i + 32] for i in range(offset * 32, (offset + count) * 32, 32)]
        while len(layer) > 1:
            layer = [sha256(b"\x01" + layer[i] + layer[i + 1]).digest() for i in range(0, len(layer), 2)]
        return layer[0]

    def put(self, level: int, index: int, value: bytes) -> None:
        """Store a new complete-subtree hash; only tile rows (Merkle levels 8·L) are kept."""
        if level % TILE_HEIGHT:
            return
        t_level, t_index, pos = level // TILE_HEIGHT, index // TILE_WIDTH, index % TILE_WIDTH
        data = self.tile(t_level, t_index)
        if len(data) != pos * 32:
            raise RuntimeError(f"tile {t_level}/{t_index} has {len(data) // 32} hashes, expected {pos}")
        self.cache[(t_level, t_index)] = data + value
        self.dirty.add((t_level, t_index))

    def flush(self) -> None:
        for t_level, t_index in sorted(self.dirty):
            data = self.cache[(t_level, t_index)]
            row = self.session.scalar(select(LogTile).where(
                LogTile.organization_id == self.org_id, LogTile.level == t_level, LogTile.index == t_index))
            if row is None:
                self.session.add(LogTile(organization_id=self.org_id, level=t_level, index=t_index, data=data))
            else:
                row.data = data
        self.dirty.clear()
        self.session.flush()


def latest_checkpoint(session: Session, org_id: int) -> LogCheckpoint | None:
    return session.scalar(select(LogCheckpoint).where(LogCheckpoint.organization_id == org_id)
                          .order_by(LogCheckpoint.size.desc()).limit(1))


# --- the integrator ----------------------------------------------------------------------------


def _lock(session: Session, org_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": 0x7D3C1D0000 + org_id})


@dataclass
class Integration:
    integrated: int
    size: int
    root: bytes


def integrate(org: Any, *, limit: int | None = None) -> Integration:
    """Integrate the organisation's pending outbox rows (in batches of 256) and sign a checkpoint."""
    from ..db import get_engine

    engine = get_engine()
    total = 0
    while True:
        with engine.connect() as conn:
            conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"  # the SQLite write lock, taken up front
            try:
                with Session(bind=conn, expire_on_commit=False) as session, session.begin():
                    _lock(session, org.id)
                    done, size, root = _integrate_batch(session, org, BATCH)
            finally:
                conn.info.pop("sqlite_begin", None)
        total += done
        if done < BATCH or (limit is not None and total >= limit):
            return Integration(total, size, root)


def _integrate_batch(session: Session, org: Any, batch: int) -> tuple[int, int, bytes]:
    previous = latest_checkpoint(session, org.id)
    size = previous.size if previous is not None else 0
    store = TileStore(session, org.id, shared_cache=False)
    if previous is not None and merkle.tree_hash(size, get_many=store.get_many) != previous.root:
        raise RuntimeError("the stored tree does not hash to the last signed checkpoint: refusing to sign")
    pending = list(session.scalars(select(LogOutbox).where(LogOutbox.organization_id == org.id)
                                   .order_by(LogOutbox.id).limit(batch)))
    if not pending:
        if previous is None:
            root = merkle.EMPTY_ROOT
            _sign(session, org, 0, root)
            return 0, 0, root
        return 0, size, previous.root
    leaves = [merkle.leaf_hash(row.entry) for row in pending]
    for level, index, value in merkle.append_batch(size, leaves, get_many=store.get_many):
        store.put(level, index, value)
    entries = []
    for offset, row in enumerate(pending):
        entries.append({"organization_id": org.id, "index": size + offset, "record_id": row.record_id,
                        "entry": row.entry, "kind": _kind_of(row.entry), "integrated_at": utcnow()})
    session.execute(LogEntry.__table__.insert(), entries)
    session.execute(LogOutbox.__table__.delete().where(LogOutbox.id.in_([r.id for r in pending])))
    store.flush()
    new_size = size + len(pending)
    root = merkle.tree_hash(new_size, get_many=store.get_many)
    _sign(session, org, new_size, root)
    return len(pending), new_size, root


def _kind_of(entry: bytes) -> str:
    import json

    return str(json.loads(entry)["kind"])


def _sign(session: Session, org: Any, size: int, root: bytes) -> LogCheckpoint:
    body = note.checkpoint_body(origin_for(org), size, root)
    signers = [signer(org, k.generation) for k in active_keys(session, org)]
    cp = LogCheckpoint(organization_id=org.id, size=size, root=root, note=note.sign_note(body, signers))
    session.add(cp)
    session.flush()
    return cp


def pending_count(session: Session, org_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(LogOutbox).where(
        LogOutbox.organization_id == org_id)) or 0)


def proofs_reader(session: Session, org_id: int) -> Callable[[int, int], bytes]:
    return TileStore(session, org_id).get
