"""C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile paths, tile contents, entry bundles.

Tiles have height 8: a full tile holds 256 hashes (8,192 bytes). Hash tile ``(L, N)`` holds the
stored hashes of Merkle level ``8*L`` with indices ``N*256 .. N*256+255``, concatenated; in terms
of :mod:`merkle` addressing the i-th hash is stored hash ``(8*L, N*256 + i)``. A *partial* tile
(the right edge of a tree) holds the first ``W`` (1..255) of them and is served at ``.p/<W>``;
for a tree of size ``s`` the partial tile at level ``L`` has width ``floor(s / 256**L) mod 256``.

Entry bundle ``N`` holds entries ``N*256 .. N*256+255`` (partial: the first ``W``), each as a
big-endian uint16 length followed by the entry bytes.

Paths are relative to the log prefix: ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]``,
``<N>`` in 3-digit groups with an ``x`` on all but the last (1234067 -> ``x001/x234/067``).

Pure library: standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

if __package__:
    from . import merkle
else:  # run as a loose script (the standalone verifier)
    import merkle  # type: ignore[no-redef]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
HASH_SIZE = 32
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF

__all__ = [
    "HASH_SIZE",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Tile",
    "TileReader",
    "bundle_for_entry",
    "bundles_for_range",
    "bundles_for_size",
    "bundles_to_update",
    "decode_bundle",
    "encode_bundle",
    "encode_index",
    "entries_path",
    "hash_location",
    "level_count",
    "parse_tile_path",
    "split_tile",
    "subtree_from_tile",
    "tile_bytes",
    "tile_hash_coords",
    "tile_path",
    "tiles_for_size",
    "tiles_to_update",
]


class Tile(NamedTuple):
    """A hash tile (``level`` 0..63) or an entry bundle (``level`` None); ``width`` 256 = full."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def is_entries(self) -> bool:
        return self.level is None

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        if self.level is None:
            return entries_path(self.index, self.width)
        return tile_path(self.level, self.index, self.width)

    @property
    def start(self) -> int:
        """Index of the first hash (at Merkle level 8*L) or entry this tile holds."""
        return self.index * TILE_WIDTH


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")
    return value


def encode_index(n: int) -> str:
    """Tile index in 3-digit groups, ``x`` before all but the last: 1234067 -> ``x001/x234/067``."""
    _check_int("tile index", n, 0)
    digits = str(n)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])


def _suffix(width: int | None) -> str:
    if width is None or width == TILE_WIDTH:
        return ""
    _check_int("tile width", width, 1, TILE_WIDTH)
    return f".p/{width}"


def tile_path(level: int, n: int, width: int | None = None) -> str:
    """``tile/<L>/<N>[.p/<W>]``; width None or 256 is a full tile, 1..255 a partial one."""
    _check_int("tile level", level, 0, MAX_LEVEL)
    return f"tile/{level}/{encode_index(n)}{_suffix(width)}"


def entries_path(n: int, width: int | None = None) -> str:
    """``tile/entries/<N>[.p/<W>]``."""
    return f"tile/entries/{encode_index(n)}{_suffix(width)}"


_LEVEL_RE = re.compile(r"(?:0|[1-9][0-9]?)")
_WIDTH_RE = re.compile(r"[1-9][0-9]{0,2}")
_GROUP_RE = re.compile(r"[0-9]{3}")


def parse_tile_path(path: str) -> Tile:
    """Parse a tile or entry-bundle path (relative to the log prefix); refuse non-canonical forms.

    Refused: leading zeros in the level or width, a level above 63, width 0 or >= 256 (a full tile
    has no ``.p``), groups that are not exactly 3 ASCII digits, a missing or extra ``x``, a leading
    ``x000`` group, empty segments, and anything else.
    """
    if not isinstance(path, str) or not path.startswith("tile/"):
        raise ValueError(f"not a tile path: {path!r}")
    parts = path[len("tile/") :].split("/")
    if len(parts) < 2:
        raise ValueError(f"not a tile path: {path!r}")
    head, rest = parts[0], parts[1:]
    level: int | None
    if head == "entries":
        level = None
    elif _LEVEL_RE.fullmatch(head) and int(head) <= MAX_LEVEL:
        level = int(head)
    else:
        raise ValueError(f"bad tile level in {path!r}")
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        w = rest[-1]
        if not _WIDTH_RE.fullmatch(w) or int(w) >= TILE_WIDTH:
            raise ValueError(f"bad partial tile width in {path!r}")
        width = int(w)
        rest = rest[:-2] + [rest[-2][:-2]]
    *upper, last = rest
    if not _GROUP_RE.fullmatch(last):
        raise ValueError(f"bad tile index in {path!r}")
    for group in upper:
        if not (group.startswith("x") and _GROUP_RE.fullmatch(group[1:])):
            raise ValueError(f"bad tile index in {path!r}")
    if upper and upper[0] == "x000":
        raise ValueError(f"non-canonical tile index in {path!r}")
    index = int("".join(g[1:] for g in upper) + last)
    return Tile(level, index, width)


# --------------------------------------------------------------------------------------------
# which tiles exist for a tree size


def level_count(size: int, level: int) -> int:
    """Number of hashes at tile level ``level`` (Merkle level 8*level) in a tree of ``size`` leaves.

    Tile ``(level, n)`` of that tree is full if ``(n + 1) * 256 <= level_count(size, level)``;
    otherwise its width is ``level_count(size, level) % 256`` (0: it does not exist).
    """
    return size >> (TILE_HEIGHT * level)


_level_count = level_count


def _tiles_at(level: int | None, count: int, first_index: int = 0) -> Iterator[Tile]:
    full, width = divmod(count, TILE_WIDTH)
    for n in range(first_index, full):
        yield Tile(level, n)
    if width and first_index <= full:
        yield Tile(level, full, width)


def tiles_for_size(size: int) -> list[Tile]:
    """Every hash tile a log of ``size`` entries serves: all full tiles plus the right-edge partials.

    Example: size 70,000 -> 273 full + one 112-wide level-0 tiles, one full + one 17-wide level-1
    tiles, one 1-wide level-2 tile.
    """
    _check_int("size", size, 0)
    out: list[Tile] = []
    level = 0
    while _level_count(size, level):
        out.extend(_tiles_at(level, _level_count(size, level)))
        level += 1
    return out


def bundles_for_size(size: int) -> list[Tile]:
    """Every entry bundle a log of ``size`` entries serves (full ones plus at most one partial)."""
    _check_int("size", size, 0)
    return list(_tiles_at(None, size))


def tiles_to_update(old_size: int, new_size: int) -> list[Tile]:
    """Hash tiles that are new when growing a tree from ``old_size`` to ``new_size`` entries.

    These are the tiles to write after an integration: full tiles completed by the growth and the
    new right-edge partial tiles (a partial tile whose width did not change is not listed).
    """
    _check_int("old_size", old_size, 0)
    _check_int("new_size", new_size, old_size)
    out: list[Tile] = []
    level = 0
    while _level_count(new_size, level):
        old_count, new_count = _level_count(old_size, level), _level_count(new_size, level)
        if new_count != old_count:
            out.extend(_tiles_at(level, new_count, old_count // TILE_WIDTH))
        level += 1
    return out


def bundles_to_update(old_size: int, new_size: int) -> list[Tile]:
    """Entry bundles that are new when growing from ``old_size`` to ``new_size`` entries."""
    _check_int("old_size", old_size, 0)
    _check_int("new_size", new_size, old_size)
    if new_size == old_size:
        return []
    return list(_tiles_at(None, new_size, old_size // TILE_WIDTH))


def bundle_for_entry(index: int, size: int) -> Tile:
    """The bundle that holds entry ``index`` in a log of ``size`` entries (full or partial)."""
    _check_int("index", index, 0)
    _check_int("size", size, index + 1)
    n = index // TILE_WIDTH
    if n < size // TILE_WIDTH:
        return Tile(None, n)
    return Tile(None, n, size % TILE_WIDTH)


def bundles_for_range(start: int, end: int, size: int) -> list[Tile]:
    """The bundles covering entries ``[start, end)`` of a log of ``size`` entries, in order."""
    _check_int("start", start, 0)
    _check_int("end", end, start)
    _check_int("size", size, end)
    if start == end:
        return []
    first, last = start // TILE_WIDTH, (end - 1) // TILE_WIDTH
    return [bundle_for_entry(n * TILE_WIDTH, size) for n in range(first, last + 1)]


# --------------------------------------------------------------------------------------------
# tile contents


def tile_hash_coords(tile: Tile) -> list[tuple[int, int]]:
    """The stored-hash coordinates ``(8*L, N*256 + i)``, ``i < width``, that make up a hash tile."""
    if tile.level is None:
        raise ValueError("an entry bundle holds entries, not hashes")
    level = TILE_HEIGHT * tile.level
    return [(level, tile.start + i) for i in range(tile.width)]


def tile_bytes(
    tile: Tile,
    get: merkle.HashGetter | None = None,
    *,
    get_many: merkle.HashBatchGetter | None = None,
) -> bytes:
    """The bytes of a hash tile, read from stored hashes (one batch): concatenated 32-byte hashes."""
    return b"".join(merkle.read_hashes(tile_hash_coords(tile), get, get_many=get_many))


def split_tile(data: bytes, width: int) -> list[bytes]:
    """The hashes of a tile's bytes; refuses any length other than ``width * 32``."""
    _check_int("tile width", width, 1, TILE_WIDTH)
    if not isinstance(data, bytes | bytearray) or len(data) != width * HASH_SIZE:
        raise ValueError(f"a tile of width {width} is {width * HASH_SIZE} bytes, got {len(data)}")
    return [bytes(data[i : i + HASH_SIZE]) for i in range(0, len(data), HASH_SIZE)]


def hash_location(level: int, index: int, size: int) -> tuple[Tile, int, int]:
    """Where stored hash ``(level, index)`` of a tree of ``size`` entries can be read from tiles.

    Returns ``(tile, offset, count)``: the hash is the complete-subtree hash of the ``count``
    (a power of two, ``2**(level % 8)``) tile hashes starting at ``offset`` in ``tile``, which is
    the full tile if it exists at that size, otherwise the right-edge partial tile.
    """
    _check_int("level", level, 0)
    _check_int("index", index, 0)
    _check_int("size", size, 0)
    if (index + 1) << level > size:
        raise ValueError(f"stored hash ({level}, {index}) does not exist in a tree of size {size}")
    tile_level, sub = divmod(level, TILE_HEIGHT)
    first = index << sub
    n, offset = divmod(first, TILE_WIDTH)
    count_here = _level_count(size, tile_level)
    width = TILE_WIDTH if n < count_here // TILE_WIDTH else count_here % TILE_WIDTH
    return Tile(tile_level, n, width), offset, 1 << sub


def subtree_from_tile(hashes: Sequence[bytes], offset: int, count: int) -> bytes:
    """The complete-subtree hash of ``hashes[offset:offset+count]`` (count a power of two)."""
    if count < 1 or count & (count - 1) or offset % count or offset + count > len(hashes):
        raise ValueError("not a complete subtree of this tile")
    layer = list(hashes[offset : offset + count])
    while len(layer) > 1:
        layer = [merkle.node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


class TileReader:
    """A ``get(level, index)`` (with ``get_many``) reading stored hashes through tiles.

    ``fetch(path)`` returns the bytes of a tile path (e.g. ``tile/0/x001/234.p/17``). Tiles are
    fetched at most once; their length is checked. Only valid for a tree of ``size`` entries: the
    tiles are not authenticated, so compare what you compute with a signed root.
    """

    def __init__(self, size: int, fetch: Callable[[str], bytes]) -> None:
        self.size = _check_int("size", size, 0)
        self._fetch = fetch
        self._tiles: dict[Tile, list[bytes]] = {}
        self.fetched: list[str] = []

    def tile(self, tile: Tile) -> list[bytes]:
        if tile not in self._tiles:
            path = tile.path
            self.fetched.append(path)
            self._tiles[tile] = split_tile(self._fetch(path), tile.width)
        return self._tiles[tile]

    def __call__(self, level: int, index: int) -> bytes:
        tile, offset, count = hash_location(level, index, self.size)
        return subtree_from_tile(self.tile(tile), offset, count)

    def get_many(self, coords: list[tuple[int, int]]) -> list[bytes]:
        return [self(level, index) for level, index in coords]


# --------------------------------------------------------------------------------------------
# entry bundles


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as big-endian uint16 length || bytes (at most 256 entries)."""
    if len(entries) > TILE_WIDTH:
        raise ValueError(f"a bundle holds at most {TILE_WIDTH} entries")
    out = bytearray()
    for i, entry in enumerate(entries):
        if not isinstance(entry, bytes | bytearray):
            raise ValueError(f"entry {i} is not bytes")
        if len(entry) > MAX_ENTRY_BYTES:
            raise ValueError(f"entry {i} is {len(entry)} bytes; a bundle entry is at most {MAX_ENTRY_BYTES}")
        out += len(entry).to_bytes(2, "big")
        out += entry
    return bytes(out)


def decode_bundle(data: bytes, count: int | None = None) -> list[bytes]:
    """The entries of a bundle; strict (truncation, trailing bytes, a wrong ``count`` are refused)."""
    if not isinstance(data, bytes | bytearray):
        raise ValueError("bundle data must be bytes")
    entries: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 2:
            raise ValueError("bundle truncated in a length prefix")
        length = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if end - pos < length:
            raise ValueError(f"bundle truncated in entry {len(entries)}")
        entries.append(bytes(data[pos : pos + length]))
        pos += length
        if len(entries) > TILE_WIDTH:
            raise ValueError(f"a bundle holds at most {TILE_WIDTH} entries")
    if count is not None and len(entries) != count:
        raise ValueError(f"bundle holds {len(entries)} entries, expected {count}")
    return entries
