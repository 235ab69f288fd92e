"""Entries: canonical JSON, strict parsing, and the schema subset."""

from __future__ import annotations

from typing import Any

import pytest

from decidim_py.transparency import canonical

from .fakelog import SCHEMAS

GOOD = {"kind": "process.published", "schema": 1, "process": 7, "content_sha256": "ab" * 32, "official": None}


def test_encode_then_parse_round_trip() -> None:
    data = canonical.encode_entry(GOOD)
    assert data.startswith(b'{"content_sha256":"abab')
    assert canonical.parse_entry(data) == GOOD
    assert canonical.canonical_json({"b": [1, True, None], "a": "é"}) == '{"a":"é","b":[1,true,null]}'.encode()


@pytest.mark.parametrize(
    "data",
    [
        b'{"schema":1, "kind":"x"}',  # whitespace
        b'{"schema":1,"kind":"x"}',  # key order
        b'{"kind":"x","schema":1.0}',  # float
        b'{"kind":"x","schema":1,"v":1e3}',
        b'{"kind":"x","schema":1,"v":-0}',
        b'{"kind":"x","schema":1,"v":9007199254740992}',  # outside the JCS integer range
        b'{"kind":"x","schema":1,"v":NaN}',
        b'{"kind":"x","kind":"x","schema":1}',  # duplicate key
        b'{"kind":"\\u0078","schema":1}',  # needless escape
        b'{"kind":"x","schema":1}\n',
        b"\xef\xbb\xbf{}",
        b'{"kind":"x","schema":1,"v":"\xff"}',  # invalid UTF-8
        b"[1]",
        b'"x"',
        b"{}",
        b'{"kind":"","schema":1}',
        b'{"kind":"x","schema":"1"}',
        b'{"kind":"x","schema":true}',
        b'{"kind":1,"schema":1}',
        b"",
        b"{",
    ],
)
def test_parse_entry_refuses(data: bytes) -> None:
    with pytest.raises(canonical.EntryError):
        canonical.parse_entry(data)


def test_size_limit() -> None:
    base = {"kind": "x", "schema": 1, "v": ""}
    overhead = len(canonical.encode_entry(base))
    at_limit = dict(base, v="a" * (canonical.MAX_ENTRY_SIZE - overhead))
    data = canonical.encode_entry(at_limit)
    assert len(data) == canonical.MAX_ENTRY_SIZE
    assert canonical.parse_entry(data) == at_limit
    with pytest.raises(canonical.EntryError):
        canonical.encode_entry(dict(base, v="a" * (canonical.MAX_ENTRY_SIZE - overhead + 1)))
    with pytest.raises(canonical.EntryError):
        canonical.parse_entry(data[:-2] + b'a"}')


@pytest.mark.parametrize(
    "value",
    [{"kind": "x", "schema": 1, "v": 1.5}, {"kind": "x", "schema": 1, "v": [{"w": 2.0}]}, {"schema": 1}, [], {1: 2}],
)
def test_encode_entry_refuses(value: Any) -> None:
    with pytest.raises(canonical.EntryError):
        canonical.encode_entry(value)


def test_validate_entry_accepts() -> None:
    canonical.validate_entry(GOOD, SCHEMAS)
    canonical.validate_entry({k: v for k, v in GOOD.items() if k != "official"}, SCHEMAS)
    canonical.validate_entry({"kind": "budget.result", "schema": 2, "budget": 1, "tally": {}}, SCHEMAS)
    open_schema = {"k": {"version": 3, "required": ["a"]}}
    canonical.validate_entry({"kind": "k", "schema": 3, "a": 1, "anything": [1]}, open_schema)


@pytest.mark.parametrize(
    "change",
    [
        {"schema": 2},  # wrong version
        {"kind": "unknown.kind"},
        {"process": "7"},
        {"process": True},  # a boolean is not an integer
        {"official": 3},
        {"extra": 1},  # additionalProperties: false
        {"process": None},
    ],
)
def test_validate_entry_refuses(change: dict[str, Any]) -> None:
    with pytest.raises(canonical.EntryError):
        canonical.validate_entry(dict(GOOD, **change), SCHEMAS)


def test_validate_entry_missing_required() -> None:
    entry = {k: v for k, v in GOOD.items() if k != "content_sha256"}
    with pytest.raises(canonical.EntryError, match="content_sha256"):
        canonical.validate_entry(entry, SCHEMAS)


@pytest.mark.parametrize(
    "schema",
    [
        [],
        {"required": []},
        {"version": "1"},
        {"version": 1, "required": "a"},
        {"version": 1, "properties": {"a": {"type": "float"}}},
        {"version": 1, "properties": {"a": {"type": []}}},
        {"version": 1, "properties": {"a": {"type": ["string", "string"]}}},
        {"version": 1, "properties": {"a": {"type": "string", "enum": ["x"]}}},
        {"version": 1, "properties": {"a": "string"}},
        {"version": 1, "additionalProperties": "no"},
        {"version": 1, "required": ["b"], "properties": {}, "additionalProperties": False},
        {"version": 1, "$ref": "#/x"},
    ],
)
def test_check_schema_refuses(schema: Any) -> None:
    with pytest.raises(canonical.SchemaError):
        canonical.check_schema("k", schema)
    with pytest.raises(canonical.EntryError):
        canonical.validate_entry({"kind": "k", "schema": 1}, {"k": schema})


def test_check_schema_accepts_the_published_ones() -> None:
    for kind, schema in SCHEMAS.items():
        canonical.check_schema(kind, schema)
    canonical.check_schema("k", {"version": 1, "title": "t", "description": "d", "properties": {"a": {"type": "null"}}})
