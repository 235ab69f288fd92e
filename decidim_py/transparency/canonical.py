"""Log entries: RFC 8785 canonical JSON, strict parsing, and the small schema language of log-info.

An entry is the exact byte string that is hashed into the tree: a JSON object in RFC 8785 (JCS)
canonical form, integers only (no floats), at most :data:`MAX_ENTRY_SIZE` bytes, with at least
``{"kind": str, "schema": int}``.

Schemas (served by the log in ``log-info``) use a deliberately tiny JSON-Schema-like subset::

    {"version": 1,
     "required": ["kind", "schema", "process"],
     "properties": {"process": {"type": "integer"}, "note": {"type": ["string", "null"]}},
     "additionalProperties": false}

``kind`` and ``schema`` are always allowed (and always type-checked as string / integer) even when
``properties`` does not list them. Types: ``string``, ``integer`` (not boolean), ``boolean``,
``object``, ``array``, ``null``. Nested values are only type-checked, not validated further.
Keys allowed in a schema: version, required, properties, additionalProperties, title, description;
in a property: type, title, description.

Pure library: standard library plus ``rfc8785``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import rfc8785

MAX_ENTRY_SIZE = 8 * 1024
TYPES = ("string", "integer", "boolean", "object", "array", "null")
_SCHEMA_KEYS = {"version", "required", "properties", "additionalProperties", "title", "description"}
_PROPERTY_KEYS = {"type", "title", "description"}
_BUILTIN = {"kind": "string", "schema": "integer"}

__all__ = [
    "MAX_ENTRY_SIZE",
    "EntryError",
    "SchemaError",
    "canonical_json",
    "check_schema",
    "encode_entry",
    "parse_entry",
    "validate_entry",
]


class EntryError(ValueError):
    """An entry is malformed, not canonical, or does not match its schema."""


class SchemaError(ValueError):
    """A schema definition (from log-info) is not in the supported subset."""


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical serialisation of ``value`` (floats allowed, as JCS allows them)."""
    return rfc8785.dumps(value)


def _reject_float(text: str) -> Any:
    raise EntryError(f"entries contain integers only, not {text!r}")


def _reject_constant(text: str) -> Any:
    raise EntryError(f"{text} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise EntryError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _check_floatless(value: Any, where: str = "entry") -> None:
    if isinstance(value, float):
        raise EntryError(f"{where}: entries contain integers only, not floats")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EntryError(f"{where}: object keys must be strings")
            _check_floatless(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_floatless(item, f"{where}[{i}]")


def _check_header(entry: Mapping[str, Any]) -> None:
    kind = entry.get("kind")
    schema = entry.get("schema")
    if not isinstance(kind, str) or not kind:
        raise EntryError('an entry needs a non-empty string "kind"')
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise EntryError('an entry needs an integer "schema"')


def encode_entry(entry: Mapping[str, Any]) -> bytes:
    """Serialise an entry for the log: canonical JSON, integers only, <= 8 KiB, kind and schema set.

    The result is what ``parse_entry`` accepts, byte for byte.
    """
    if not isinstance(entry, Mapping):
        raise EntryError("an entry is a JSON object")
    _check_floatless(entry)
    _check_header(entry)
    try:
        data = canonical_json(dict(entry))
    except rfc8785.CanonicalizationError as exc:
        raise EntryError(f"cannot canonicalise entry: {exc}") from exc
    if len(data) > MAX_ENTRY_SIZE:
        raise EntryError(f"entry is {len(data)} bytes, the limit is {MAX_ENTRY_SIZE}")
    return data


def parse_entry(data: bytes) -> dict[str, Any]:
    """Parse entry bytes, refusing anything that is not exactly its own canonical form.

    Refuses: more than 8 KiB, invalid UTF-8, invalid or duplicate-key JSON, floats (also ``1.0`` and
    ``1e3``), integers outside the JCS safe range, a non-object top level, a missing ``kind`` (string)
    or ``schema`` (integer), and any byte difference from the RFC 8785 re-encoding.
    """
    if not isinstance(data, bytes | bytearray):
        raise EntryError("entry data must be bytes")
    data = bytes(data)
    if len(data) > MAX_ENTRY_SIZE:
        raise EntryError(f"entry is {len(data)} bytes, the limit is {MAX_ENTRY_SIZE}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EntryError("entry is not valid UTF-8") from exc
    try:
        value = json.loads(
            text,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicates,
        )
    except json.JSONDecodeError as exc:
        raise EntryError(f"entry is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise EntryError("an entry is a JSON object")
    try:
        again = canonical_json(value)
    except rfc8785.CanonicalizationError as exc:
        raise EntryError(f"entry cannot be canonicalised: {exc}") from exc
    if again != data:
        raise EntryError("entry is not in RFC 8785 canonical form")
    _check_header(value)
    return value


def _types_of(spec: Any, where: str) -> tuple[str, ...]:
    types = spec if isinstance(spec, list) else [spec]
    if not types or any(t not in TYPES for t in types) or len(set(types)) != len(types):
        raise SchemaError(f"{where}: type must be one of {', '.join(TYPES)} or a list of them")
    return tuple(types)


def check_schema(kind: str, schema: Any) -> None:
    """Refuse a schema definition outside the supported subset (see the module docstring)."""
    where = f"schema {kind!r}"
    if not isinstance(schema, dict):
        raise SchemaError(f"{where} is not an object")
    unknown = set(schema) - _SCHEMA_KEYS
    if unknown:
        raise SchemaError(f"{where}: unsupported keyword(s) {', '.join(sorted(unknown))}")
    version = schema.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SchemaError(f"{where}: version must be an integer")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise SchemaError(f"{where}: required must be a list of field names")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise SchemaError(f"{where}: properties must be an object")
    for name, prop in properties.items():
        if not isinstance(prop, dict) or "type" not in prop or set(prop) - _PROPERTY_KEYS:
            raise SchemaError(f'{where}: property {name!r} must be {{"type": ...}}')
        _types_of(prop["type"], f"{where}.{name}")
    if not isinstance(schema.get("additionalProperties", True), bool):
        raise SchemaError(f"{where}: additionalProperties must be true or false")
    if schema.get("additionalProperties", True) is False:
        allowed = set(properties) | set(_BUILTIN)
        missing = [r for r in required if r not in allowed]
        if missing:
            raise SchemaError(f"{where}: required field(s) not in properties: {', '.join(missing)}")


def _has_type(value: Any, type_name: str) -> bool:
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if type_name == "array":
        return isinstance(value, list)
    return value is None  # "null"


def validate_entry(entry: Mapping[str, Any], schemas: Mapping[str, Any]) -> None:
    """Check an entry against ``schemas[entry["kind"]]``; raise :class:`EntryError` on any mismatch."""
    _check_header(entry)
    kind = entry["kind"]
    if kind not in schemas:
        raise EntryError(f"unknown kind {kind!r}: the log publishes no schema for it")
    schema = schemas[kind]
    try:
        check_schema(kind, schema)
    except SchemaError as exc:
        raise EntryError(str(exc)) from exc
    if entry["schema"] != schema["version"]:
        raise EntryError(
            f"{kind}: schema version {entry['schema']} but the log's schema is version {schema['version']}"
        )
    missing = [field for field in schema.get("required", []) if field not in entry]
    if missing:
        raise EntryError(f"{kind}: missing required field(s) {', '.join(missing)}")
    properties = schema.get("properties", {})
    for field, value in entry.items():
        if field in properties:
            types = _types_of(properties[field]["type"], f"{kind}.{field}")
        elif field in _BUILTIN:
            types = (_BUILTIN[field],)
        elif schema.get("additionalProperties", True) is False:
            raise EntryError(f"{kind}: field {field!r} is not allowed by the schema")
        else:
            continue
        if not any(_has_type(value, t) for t in types):
            raise EntryError(f"{kind}: field {field!r} must be {' or '.join(types)}")
