"""tlog-tiles: paths, which tiles exist, tile contents, reading hashes through tiles, bundles."""

from __future__ import annotations

import random

import pytest

from decidim_py.transparency import merkle, tiles
from decidim_py.transparency.tiles import Tile

from .refimpl import Reference


@pytest.mark.parametrize(
    ("n", "encoded"),
    [
        (0, "000"),
        (7, "007"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),
        (10**9, "x001/x000/x000/000"),
    ],
)
def test_index_encoding(n: int, encoded: str) -> None:
    assert tiles.encode_index(n) == encoded
    assert tiles.tile_path(2, n) == f"tile/2/{encoded}"
    assert tiles.entries_path(n, 17) == f"tile/entries/{encoded}.p/17"
    assert tiles.parse_tile_path(f"tile/2/{encoded}") == Tile(2, n, 256)
    assert tiles.parse_tile_path(f"tile/entries/{encoded}.p/17") == Tile(None, n, 17)


def test_paths() -> None:
    assert tiles.tile_path(0, 1234067, 8) == "tile/0/x001/x234/067.p/8"
    assert tiles.tile_path(63, 0, 256) == "tile/63/000"
    assert tiles.entries_path(5) == "tile/entries/005"
    assert Tile(1, 3, 255).path == "tile/1/003.p/255"
    assert Tile(None, 3).path == "tile/entries/003"
    for bad in [(64, 0, None), (-1, 0, None), (0, -1, None), (0, 0, 0), (0, 0, 257), (0, True, None)]:
        with pytest.raises(ValueError):
            tiles.tile_path(*bad)  # type: ignore[arg-type]


def test_path_round_trips() -> None:
    rng = random.Random(3)
    for _ in range(500):
        t = Tile(
            rng.choice([None, 0, 1, 2, 63]),
            rng.choice([0, 1, 999, 1000, rng.randrange(10**12)]),
            rng.choice([256, 1, 255, rng.randrange(1, 256)]),
        )
        assert tiles.parse_tile_path(t.path) == t


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/0/01",
        "tile/0/0001",
        "tile/00/000",
        "tile/01/000",
        "tile/64/000",
        "tile/0/x000/001",  # leading zero group
        "tile/0/001/000",  # missing x
        "tile/0/x001/x000",  # x on the last group
        "tile/0/y001/000",
        "tile/0/x1/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/017",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/0/000/",
        "tile//000",
        "tile/0/",
        "tile/0",
        "tile/entries",
        "tile/entry/000",
        "/tile/0/000",
        "tiles/0/000",
        "tile/0/-01",
        "tile/0/+01",
        "tile/0/٠٠٠",  # non-ASCII digits
        "tile/0/000.p/1/2",
        "tile/8/0/000",  # sumdb form with the height
        "tile/0/x001/.p/5",
    ],
)
def test_parse_refuses(path: str) -> None:
    with pytest.raises(ValueError):
        tiles.parse_tile_path(path)


def test_tiles_for_size_matches_spec_example() -> None:
    ts = tiles.tiles_for_size(70_000)
    by_level: dict[int | None, list[Tile]] = {}
    for t in ts:
        by_level.setdefault(t.level, []).append(t)
    assert len([t for t in by_level[0] if not t.is_partial]) == 273
    assert [t for t in by_level[0] if t.is_partial] == [Tile(0, 273, 112)]
    assert by_level[1] == [Tile(1, 0), Tile(1, 1, 17)]
    assert by_level[2] == [Tile(2, 0, 1)]
    assert tiles.tiles_for_size(256) == [Tile(0, 0), Tile(1, 0, 1)]
    assert tiles.tiles_for_size(0) == [] and tiles.bundles_for_size(0) == []
    assert tiles.bundles_for_size(513) == [Tile(None, 0), Tile(None, 1), Tile(None, 2, 1)]


def test_tiles_to_update() -> None:
    for old, new in [(0, 1), (0, 256), (255, 256), (256, 257), (1000, 70_000), (5, 5), (65535, 65537)]:
        updated = set(tiles.tiles_to_update(old, new))
        assert updated == set(tiles.tiles_for_size(new)) - set(tiles.tiles_for_size(old))
        bundles = set(tiles.bundles_to_update(old, new))
        assert bundles == set(tiles.bundles_for_size(new)) - set(tiles.bundles_for_size(old))
    assert tiles.tiles_to_update(300, 301) == [Tile(0, 1, 45)]  # level-1 partial unchanged (width 1)


def test_bundles_for_range() -> None:
    assert tiles.bundles_for_range(0, 0, 0) == []
    assert tiles.bundles_for_range(10, 20, 20) == [Tile(None, 0, 20)]
    assert tiles.bundles_for_range(250, 600, 800) == [Tile(None, 0), Tile(None, 1), Tile(None, 2)]
    assert tiles.bundles_for_range(250, 600, 600) == [Tile(None, 0), Tile(None, 1), Tile(None, 2, 88)]
    assert tiles.bundle_for_entry(255, 256) == Tile(None, 0)
    assert tiles.bundle_for_entry(256, 300) == Tile(None, 1, 44)
    with pytest.raises(ValueError):
        tiles.bundle_for_entry(5, 5)


def test_bundle_encoding() -> None:
    entries = [b"", b"a", b"x" * 300, b"\x00\xff" * 1000, b"z" * 65535]
    data = tiles.encode_bundle(entries)
    assert data[:3] == b"\x00\x00\x00" and data[2:5] == b"\x00\x01a"
    assert tiles.decode_bundle(data) == entries
    assert tiles.decode_bundle(data, 5) == entries
    assert tiles.decode_bundle(b"") == []
    with pytest.raises(ValueError):
        tiles.decode_bundle(data, 4)
    for bad in [data[:-1], data + b"\x00", data + b"\x00\x05abc", b"\x01"]:
        with pytest.raises(ValueError):
            tiles.decode_bundle(bad)
    with pytest.raises(ValueError):
        tiles.encode_bundle([b"x" * 65536])
    with pytest.raises(ValueError):
        tiles.encode_bundle([b"x"] * 257)
    with pytest.raises(ValueError):
        tiles.decode_bundle(tiles.encode_bundle([b"x"] * 256) + b"\x00\x00")


def _store(n: int) -> tuple[dict[tuple[int, int], bytes], list[bytes]]:
    entries = [f"e{i}".encode() for i in range(n)]
    hashes: dict[tuple[int, int], bytes] = {}
    for level, index, h in merkle.append_batch(0, [merkle.leaf_hash(e) for e in entries], None):
        hashes[(level, index)] = h
    return hashes, entries


def test_tile_contents_and_location() -> None:
    hashes, _ = _store(70_000)
    get = hashes.__getitem__

    def getter(level: int, index: int) -> bytes:
        return get((level, index))

    t = Tile(1, 1, 17)
    data = tiles.tile_bytes(t, getter)
    assert len(data) == 17 * 32
    assert tiles.split_tile(data, 17)[3] == hashes[(8, 256 + 3)]
    assert tiles.tile_hash_coords(Tile(0, 2, 2)) == [(0, 512), (0, 513)]
    with pytest.raises(ValueError):
        tiles.split_tile(data + b"x", 17)
    with pytest.raises(ValueError):
        tiles.tile_hash_coords(Tile(None, 0))
    # stored hash (11, 3) = leaves [6144, 8192): level-1 tile 0 (full), hashes 24..31
    assert tiles.hash_location(11, 3, 70_000) == (Tile(1, 0), 24, 8)
    assert tiles.hash_location(0, 69_999, 70_000) == (Tile(0, 273, 112), 111, 1)
    assert tiles.hash_location(16, 0, 70_000) == (Tile(2, 0, 1), 0, 1)
    with pytest.raises(ValueError):
        tiles.hash_location(0, 70_000, 70_000)
    with pytest.raises(ValueError):
        tiles.hash_location(17, 0, 70_000)


def test_tree_hash_through_tiles_random_sizes() -> None:
    hashes, entries = _store(3000)
    ref = Reference(entries)

    def getter(level: int, index: int) -> bytes:
        return hashes[(level, index)]

    rng = random.Random(5)
    sizes = [1, 2, 255, 256, 257, 511, 512, 513, 2999, 3000] + [rng.randrange(1, 3001) for _ in range(30)]
    for size in sizes:
        served = {t.path: tiles.tile_bytes(t, getter) for t in tiles.tiles_for_size(size)}
        reader = tiles.TileReader(size, served.__getitem__)
        assert merkle.tree_hash(size, reader) == ref.root(size)
        index = rng.randrange(size)
        proof = merkle.inclusion_proof(index, size, reader)
        assert proof == ref.path(index, size)
        if size > 1:
            old = rng.randrange(1, size)
            assert merkle.consistency_proof(old, size, reader) == ref.proof(old, size)
        assert len(reader.fetched) == len(set(reader.fetched))  # each tile fetched once


def test_tile_reader_refuses_wrong_tile_length() -> None:
    reader = tiles.TileReader(3, lambda path: b"\x00" * 32)
    with pytest.raises(ValueError):
        merkle.tree_hash(3, reader)
    with pytest.raises(ValueError):
        reader(0, 3)  # beyond the tree
