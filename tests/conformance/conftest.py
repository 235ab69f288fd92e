"""Fixtures for the relying-party conformance suite: one fake OpenID Provider per module, served
over real HTTP, and an app configured to trust it (http:// loopback issuer, fixed test secrets)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from decidim_py.accounts.system import SystemActor
from decidim_py.db import db
from decidim_py.identity import rp
from decidim_py.identity.models import IdentityProvider
from decidim_py.identity.services import ProviderData, save_provider

from .fake_op import FakeOP, signing_keys
from .flow import CALLBACK

TEST_SECRETS = {
    "IDENTITY_SECRET": "conformance-identity-secret",
    "PERSON_SECRET": "conformance-person-secret",
    "ENCRYPTION_SECRET": "conformance-encryption-secret",
}


@pytest.fixture(scope="session", autouse=True)
def _keys_once() -> None:
    signing_keys()  # RSA key generation is the slow part: once per test session


@pytest.fixture(scope="module")
def fake_op_server() -> Iterator[FakeOP]:
    server = FakeOP().start()
    yield server
    server.stop()


@pytest.fixture
def rp_app(app: Flask) -> Iterator[Flask]:
    app.config.update(ALLOW_INSECURE_ISSUERS=True, PUBLIC_URL_TEMPLATE="http://{host}", **TEST_SECRETS)
    app.extensions.pop("decidim_keys", None)
    rp.clear_caches()
    yield app
    rp.clear_caches()
    app.extensions.pop("decidim_keys", None)


@pytest.fixture
def op(fake_op_server: FakeOP, rp_app: Flask) -> Iterator[FakeOP]:
    """The fake provider, well-behaved until a test picks a mode."""
    fake_op_server.reset()
    fake_op_server.redirect_uris = [CALLBACK]
    yield fake_op_server
    fake_op_server.reset()


@pytest.fixture
def make_provider(rp_app: Flask, org: Any, op: FakeOP) -> Callable[..., IdentityProvider]:
    def _make(**overrides: Any) -> IdentityProvider:
        data = ProviderData(**{
            "slug": "fake", "display_name": {"en": "Fake ID", "ca": "Fake ID", "es": "Fake ID"},
            "issuer": op.issuer, "client_id": op.client_id, "client_secret": op.client_secret,
            "scopes": ["openid", "profile"], **overrides,
        })
        provider = save_provider(SystemActor(org.id), org, data)
        db.session.commit()
        return provider

    return _make


@pytest.fixture
def provider(make_provider: Callable[..., IdentityProvider]) -> IdentityProvider:
    return make_provider()


@pytest.fixture
def new_browser(app: Flask, org: Any) -> Callable[[], FlaskClient]:
    """Another browser (no cookies), reaching the organisation's host."""

    def _new() -> FlaskClient:
        c = app.test_client()
        c.host = org.host  # type: ignore[attr-defined]
        return c

    return _new
