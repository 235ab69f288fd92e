"""Fixtures of the notifications tests: an app with proposals and debates, components, people."""

from __future__ import annotations

from typing import Any

import pytest

from tests.debates.conftest import app  # noqa: F401  (proposals, debates and the test component)


@pytest.fixture
def proposals_component(org: Any) -> Any:
    from tests.proposals.conftest import make_component

    return make_component(org)


@pytest.fixture
def debates_component(org: Any) -> Any:
    from tests.debates.conftest import make_component

    return make_component(org)
