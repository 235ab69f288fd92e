"""The browser's side of a sign-in, step by step, and assertions shared by the conformance tests."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import TestResponse

from decidim_py.db import db

HOST = "city.example.test"
CALLBACK = f"http://{HOST}/auth/fake/callback"
ANY_CODE = "*"  # a refusal whatever its code
NO_ROWS_TABLES = ("identities", "identity_sessions", "identity_pending_signups")


def start(client: FlaskClient, **form: str) -> TestResponse:
    """Press "sign in with Fake ID": POST /auth/fake/start."""
    return client.post("/auth/fake/start", data={"next": "/", **form})


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def at_provider(started: TestResponse) -> str:
    """Follow the redirect to the provider's /authorize over HTTP; return the callback's path and query."""
    assert started.status_code == 303, started.get_data(as_text=True)
    response = requests.get(started.headers["Location"], allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return f"{back.path}?{back.query}"


def sign_in(client: FlaskClient, **form: str) -> TestResponse:
    """The whole round trip to the provider and back; the callback's response."""
    return client.get(at_provider(start(client, **form)))


def sign_up(client: FlaskClient, nickname: str = "newperson", name: str = "New Person") -> TestResponse:
    return client.post("/sign-up", data={"nickname": nickname, "name": name, "locale": "en",
                                         "accept_terms": "y"})


def assert_goes_to_sign_up(response: TestResponse) -> None:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert urlsplit(response.headers["Location"]).path == "/sign-up"


def assert_refused(response: TestResponse, code: str) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 403, (response.status_code, body[:2000])
    assert "Sign-in refused" in body
    if code == ANY_CODE:
        assert re.search(r"Reference for support: [a-z_]+", body), body
    else:
        assert f"Reference for support: {code}" in body, body


def assert_signed_in(client: FlaskClient, nickname: str) -> None:
    response = client.get("/account")
    assert response.status_code == 200, response.headers.get("Location")
    assert f"@{nickname}" in response.get_data(as_text=True)


def assert_signed_out(client: FlaskClient) -> None:
    response = client.get("/account")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/sign-in"


def count(table: str, where: str = "") -> int:
    db.session.commit()  # end the test's own transaction: see what the requests committed
    return int(db.session.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar_one())


def assert_nothing_created() -> None:
    assert {t: count(t) for t in NO_ROWS_TABLES} == dict.fromkeys(NO_ROWS_TABLES, 0)


def rows(table: str) -> list[dict[str, Any]]:
    db.session.commit()
    return [dict(r._mapping) for r in db.session.execute(text(f"SELECT * FROM {table}"))]


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("session", domain=HOST)
    return cookie.value if cookie is not None else None
