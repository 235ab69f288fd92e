"""Web layer: security headers, CSRF, error pages, language selection, translated content, HTML."""

from __future__ import annotations

import pytest
from flask import Blueprint

from decidim_py.db import db
from decidim_py.html import sanitize
from decidim_py.i18n import translated
from decidim_py.testing import login_as, make_admin, make_app, make_process, make_user


def test_security_headers_and_strict_csp(client):
    r = client.get("/")
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "same-origin"
    html = r.get_data(as_text=True)
    assert "<script" not in html and " style=" not in html  # nothing inline for the CSP to block


def test_pages_have_landmarks_skip_link_and_one_h1(client, org):
    make_process(org, slug="landmarks")
    db.session.commit()
    for path in ("/", "/processes/", "/processes/landmarks"):
        html = client.get(path).get_data(as_text=True)
        assert html.count("<h1") == 1, path
        assert 'href="#main"' in html and '<main id="main"' in html and "<header" in html
        assert 'lang="en"' in html


def test_csrf_is_enforced_on_every_form(database_url):
    app = make_app(database_url, WTF_CSRF_ENABLED=True, COMPONENTS=["tests.components_fixture"])
    with app.app_context():
        from decidim_py.testing import make_organization

        org = make_organization(host="csrf.example.test")
        admin = make_admin(org)
        db.session.commit()
        c = app.test_client()
        c.host = org.host
        login_as(c, admin)
        r = c.post("/admin/processes/new", data={"title-en": "X", "slug": "xyz"})
        assert r.status_code == 400
        assert "form expired" in r.get_data(as_text=True)
        r = c.post("/sign-out")
        assert r.status_code == 400
        db.session.remove()
    app.extensions["decidim_db"].engine.dispose()


@pytest.mark.parametrize("locale,text", [("en", "Page not found"), ("ca", "No hem trobat"),
                                         ("es", "No hemos encontrado")])
def test_error_pages_are_translated(client, locale, text):
    client.set_cookie("decidim_locale", locale, domain=client.host)
    r = client.get("/no/such/page")
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert f'lang="{locale}"' in html
    assert text in html


def test_403_409_422_500(app, org, client):
    boom = Blueprint("boom", __name__)

    @boom.get("/boom")
    def _boom():
        raise RuntimeError("kaput")

    app.register_blueprint(boom)
    user, admin = make_user(org), make_admin(org)
    process = make_process(org, slug="codes")
    db.session.commit()
    login_as(client, user)
    assert client.get("/admin/processes/codes/edit").status_code == 403
    login_as(client, admin)
    assert client.post("/admin/processes/codes/publish").status_code == 409  # already published
    r = client.post("/admin/processes/new", data={"slug": "Not A Slug"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'class="error-summary"' in html and 'aria-invalid="true"' in html
    assert 'value="Not A Slug"' in html  # nothing the person typed is lost

    r = client.get("/boom")
    assert r.status_code == 500 and "Something went wrong" in r.get_data(as_text=True)
    assert "kaput" not in r.get_data(as_text=True)
    del process


def test_language_choice_then_user_locale_then_organisation_default(app, org, client):
    user = make_user(org, locale="es")
    db.session.commit()
    assert 'lang="en"' in client.get("/").get_data(as_text=True)  # organisation default
    login_as(client, user)
    assert 'lang="es"' in client.get("/").get_data(as_text=True)  # the person's locale
    r = client.get("/locale/ca?next=/processes/")
    assert r.status_code == 303 and r.headers["Location"] == "/processes/"
    assert 'lang="ca"' in client.get("/").get_data(as_text=True)  # explicit choice wins
    assert client.get("/locale/xx").status_code == 404
    r = client.get("/locale/es?next=https://evil.example/")
    assert r.headers["Location"] == "/"


def test_translated_fields_fall_back(app, org):
    with app.test_request_context(base_url=f"http://{org.host}"):
        from flask import g

        g.organization = org
        assert translated({"en": "Hello", "ca": "Hola"}) == "Hello"
        assert translated({"ca": "Hola"}, "es") == "Hola"
        assert translated({"es": "", "ca": "Hola"}, "es") == "Hola"
        assert translated({}) == "" and translated(None) == ""


def test_dates_are_formatted_by_babel_in_the_locale(client, org):
    make_process(org, slug="dates", start_date=__import__("datetime").date(2027, 3, 5))
    db.session.commit()
    client.set_cookie("decidim_locale", "ca", domain=client.host)
    assert "5 de març del 2027" in client.get("/processes/dates").get_data(as_text=True)
    client.set_cookie("decidim_locale", "es", domain=client.host)
    assert "5 de marzo de 2027" in client.get("/processes/dates").get_data(as_text=True)


def test_user_html_is_sanitised():
    dirty = '<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:x()">l</a>' \
            '<img src=x onerror=y><strong>ok</strong></p>'
    clean = sanitize(dirty)
    assert "script" not in clean and "onclick" not in clean and "javascript" not in clean
    assert "<img" not in clean and "<strong>ok</strong>" in clean


def test_works_without_javascript_every_action_is_a_form_or_link(app, org, client):
    admin = make_admin(org)
    make_process(org, slug="nojs", steps=2)
    db.session.commit()
    login_as(client, admin)
    html = client.get("/admin/processes/nojs/steps").get_data(as_text=True)
    assert "<script" not in html
    assert 'method="post"' in html and 'name="csrf_token"' in html
