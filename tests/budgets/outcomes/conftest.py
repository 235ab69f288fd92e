"""The outcome rules are pure (no database): their tests run in the SQLite pass of the suite only."""

from __future__ import annotations

import gzip
import json
import os
from functools import cache, lru_cache
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "pabulib"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("DECIDIM_TEST_DB", "sqlite") != "postgresql":
        return
    skip = pytest.mark.skip(reason="pure outcome rules use no database: they run in the SQLite pass only")
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(skip)


@cache
def expected() -> dict:
    return json.loads((DATA / "expected.json").read_text())


@lru_cache(maxsize=2)
def pb_text(name: str) -> str:
    return gzip.decompress((DATA / f"{name}.gz").read_bytes()).decode("utf-8")


@lru_cache(maxsize=2)
def parsed(name: str) -> tuple:
    """(PabulibFile, Election) of a fixture; tests are grouped by file so that each is parsed once."""
    from budgets.outcomes.pabulib import parse, to_election

    pb = parse(pb_text(name))
    return pb, to_election(pb)
