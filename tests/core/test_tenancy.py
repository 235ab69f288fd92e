"""Organisation isolation: nothing of organisation A is reachable through organisation B's host."""

from __future__ import annotations

import pytest

from decidim_py.accounts.system import SystemActor
from decidim_py.components import add_component, publish_component
from decidim_py.db import db
from decidim_py.testing import login_as, make_admin, make_organization, make_process, make_user


@pytest.fixture
def two_orgs(app):
    a = make_organization(host="a.example.test", name="City A")
    b = make_organization(host="b.example.test", name="City B")
    pa = make_process(a, slug="only-in-a", title={"en": "Secret plan of A"})
    comp = add_component(SystemActor(a.id), pa, "noticeboard", {"en": "Board of A"})
    publish_component(SystemActor(a.id), comp)
    admin_a = make_admin(a, "admin-a")
    user_b = make_user(b, "bob")
    db.session.commit()
    return a, b, pa, comp, admin_a, user_b


def _client(app, host):
    c = app.test_client()
    c.host = host
    return c


def test_pages_of_a_are_not_reachable_through_b(app, two_orgs):
    a, b, pa, comp, admin_a, _ = two_orgs
    ca, cb = _client(app, a.host), _client(app, b.host)
    assert ca.get("/processes/only-in-a").status_code == 200
    assert cb.get("/processes/only-in-a").status_code == 404
    assert "Secret plan of A" in ca.get("/processes/?date=all").get_data(as_text=True)
    for path in ("/processes/?date=all", "/"):
        assert "Secret plan of A" not in cb.get(path).get_data(as_text=True)
    url = f"/processes/only-in-a/noticeboard/{comp.id}/"
    assert ca.get(url).status_code == 200
    assert cb.get(url).status_code == 404


def test_a_session_cookie_does_not_cross_organisations(app, two_orgs):
    a, b, pa, comp, admin_a, _ = two_orgs
    cb = _client(app, b.host)
    login_as(cb, admin_a)  # a cookie naming A's admin, presented to B's host
    r = cb.get("/admin/")
    assert r.status_code == 403  # treated as signed out: A's user is not loaded on B
    assert cb.get("/admin/processes/only-in-a/edit").status_code == 403
    ca = _client(app, a.host)
    login_as(ca, admin_a)
    assert ca.get("/admin/processes/only-in-a/edit").status_code == 200


def test_b_admin_cannot_manage_a_process(app, two_orgs):
    a, b, pa, comp, admin_a, user_b = two_orgs
    admin_b = make_admin(b, "admin-b")
    db.session.commit()
    cb = _client(app, b.host)
    login_as(cb, admin_b)
    assert cb.get("/admin/processes/only-in-a/edit").status_code == 404
    assert cb.post("/admin/processes/only-in-a/publish").status_code == 404
    html = cb.get("/admin/processes/").get_data(as_text=True)
    assert "Secret plan of A" not in html
    assert "only-in-a" not in cb.get("/admin/log").get_data(as_text=True)


def test_services_refuse_actors_of_another_organisation(app, two_orgs):
    from decidim_py.permissions import NotAllowed
    from processes.services import activate_step

    a, b, pa, comp, admin_a, user_b = two_orgs
    admin_b = make_admin(b, "admin-b2")
    pa.steps  # noqa: B018
    with pytest.raises(NotAllowed):
        activate_step(admin_b, pa.steps[0])


def test_unknown_host_is_404(app, two_orgs):
    r = _client(app, "nowhere.example.test").get("/")
    assert r.status_code == 404
    assert "nowhere.example.test" in r.get_data(as_text=True)


def test_secondary_host_reaches_the_same_organisation(app):
    org = make_organization(host="main.example.test", secondary_hosts=["alias.example.test"])
    make_process(org, slug="shared", title={"en": "Shared"})
    db.session.commit()
    assert _client(app, "alias.example.test:8080").get("/processes/shared").status_code == 200
