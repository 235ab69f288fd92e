"""Published test vectors: transparency-dev/merkle proofs and RFC 8785 (JCS) canonicalisation."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from decidim_py.transparency import canonical, merkle

from .conftest import DATA


def _files(kind: str) -> list[Path]:
    return sorted((DATA / kind).rglob("*.json"))


def _b(value: str) -> bytes:
    return base64.b64decode(value)


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_vectors_are_present() -> None:
    assert len(_files("inclusion")) == 98
    assert len(_files("consistency")) == 98
    assert len(list((DATA / "jcs" / "input").glob("*.json"))) == 6


@pytest.mark.parametrize("path", _files("inclusion"), ids=_id)
def test_inclusion_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    proof = [_b(p) for p in v["proof"] or []]
    ok = merkle.verify_inclusion(_b(v["leafHash"]), v["leafIdx"], v["treeSize"], proof, _b(v["root"]))
    assert ok is (not v["wantErr"]), v["desc"]


@pytest.mark.parametrize("path", _files("consistency"), ids=_id)
def test_consistency_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    proof = [_b(p) for p in v["proof"] or []]
    ok = merkle.verify_consistency(v["size1"], v["size2"], _b(v["root1"]), _b(v["root2"]), proof)
    assert ok is (not v["wantErr"]), v["desc"]


def test_happy_paths_are_accepted() -> None:
    accepted = [p for p in _files("inclusion") + _files("consistency") if not json.loads(p.read_text())["wantErr"]]
    assert len(accepted) == 12


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "jcs" / "input").glob("*.json")))
def test_rfc8785_vector(name: str) -> None:
    jcs = DATA / "jcs"
    value = json.loads((jcs / "input" / name).read_bytes())
    expected = (jcs / "output" / name).read_bytes()
    hex_text = (jcs / "outhex" / name.replace(".json", ".txt")).read_text()
    assert bytes.fromhex("".join(hex_text.split())) == expected
    assert canonical.canonical_json(value) == expected
