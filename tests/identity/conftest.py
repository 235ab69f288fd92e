from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def identity_keys(app):
    """Fixed secrets for the tests (production reads them from the environment or a key file)."""
    app.config.update(IDENTITY_SECRET="test-identity", PERSON_SECRET="test-person", ENCRYPTION_SECRET="test-enc")
    app.extensions.pop("decidim_keys", None)
    from decidim_py.identity import rp

    rp.clear_caches()
    yield
    rp.clear_caches()
