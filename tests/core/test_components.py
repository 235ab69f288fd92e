"""The component framework, proven with the test component "noticeboard" (tests/components_fixture.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from decidim_py.accounts.system import SystemActor
from decidim_py.components import (
    Component,
    Setting,
    Settings,
    add_component,
    get_manifest,
    publish_component,
    update_component,
)
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed, can
from decidim_py.testing import login_as, make_admin, make_process, make_user
from decidim_py.transparency import DecisionRecord
from processes.services import activate_step


def test_manifest_is_registered_with_its_settings(app):
    manifest = get_manifest("noticeboard")
    assert [s.name for s in manifest.global_settings] == ["notice_limit", "intro", "order"]
    assert [s.name for s in manifest.step_settings] == ["posting_enabled", "banner"]


def test_settings_coerce_and_fill_defaults():
    defs = [Setting("n", "int", default=2), Setting("b", "bool", default=False),
            Setting("e", "enum", default="a", choices=(("a", "A"), ("b", "B")))]
    s = Settings(defs, {"n": "7", "e": "zzz"})
    assert (s.n, s.b, s.e) == (7, False, "a")
    with pytest.raises(AttributeError):
        s.missing  # noqa: B018
    with pytest.raises(ValueError):
        Setting("x", "float")


def test_current_settings_follow_the_active_phase(app, org):
    system = SystemActor(org.id)
    process = make_process(org, steps=3)
    component = add_component(system, process, "noticeboard", {"en": "Board"})
    s1, s2, _s3 = process.steps
    update_component(system, component, step_values={s2.id: {"posting_enabled": True, "banner": "Open!"}})
    assert component.current_settings.posting_enabled is False  # phase 1 is active
    user = make_user(org)
    assert not can(user, "noticeboard.notice.create", component)
    activate_step(system, s2)
    assert component.current_settings.posting_enabled is True
    assert component.current_settings.banner == "Open!"
    assert can(user, "noticeboard.notice.create", component)


def test_component_services_record_decisions_and_refuse_non_admins(app, org):
    admin, user = make_admin(org), make_user(org)
    process = make_process(org, steps=1)
    with pytest.raises(NotAllowed):
        add_component(user, process, "noticeboard", {"en": "Board"})
    assert db.session.scalar(select(func.count()).select_from(Component)) == 0
    with pytest.raises(InvalidState):
        add_component(admin, process, "no-such-type", {"en": "Board"})
    component = add_component(admin, process, "noticeboard", {"en": "Board"})
    changes = update_component(admin, component, global_values={"notice_limit": 9})
    assert changes == {"settings": {"notice_limit": {"from": 3, "to": 9}}}
    assert update_component(admin, component, global_values={"notice_limit": 9}) == {}
    publish_component(admin, component)
    with pytest.raises(InvalidState):
        publish_component(admin, component)
    actions = db.session.scalars(select(DecisionRecord.action).where(
        DecisionRecord.component_id == component.id).order_by(DecisionRecord.id)).all()
    assert actions == ["components.component.create", "components.component.update_settings",
                       "components.component.publish"]


def test_admin_settings_form_is_generated_from_the_manifest(app, org, client):
    admin = make_admin(org)
    process = make_process(org, steps=2, slug="with-board")
    db.session.commit()
    login_as(client, admin)
    r = client.post("/admin/processes/with-board/components/new",
                    data={"manifest_name": "noticeboard", "name-en": "Ideas board"})
    assert r.status_code == 303
    component = db.session.scalar(select(Component))
    edit_url = f"/admin/processes/with-board/components/{component.id}/edit"
    html = client.get(edit_url).get_data(as_text=True)
    s1, s2 = process.steps
    for name in ("global-notice_limit", "global-intro-en", "global-order",
                 f"step-{s1.id}-posting_enabled", f"step-{s2.id}-banner"):
        assert f'name="{name}"' in html, name
    r = client.post(edit_url, data={
        "name-en": "Ideas board", "global-notice_limit": "5", "global-order": "random",
        f"step-{s2.id}-posting_enabled": "y", f"step-{s2.id}-banner": "Post now",
    })
    assert r.status_code == 303, r.get_data(as_text=True)
    db.session.rollback()
    component = db.session.get(Component, component.id)
    assert component.global_settings.notice_limit == 5
    assert component.global_settings.order == "random"
    assert component.settings_for_step(s2.id).posting_enabled is True
    assert component.settings_for_step(s1.id).posting_enabled is False
    # bad input: a clear error, status 422, nothing lost
    r = client.post(edit_url, data={"name-en": "Ideas board", "global-notice_limit": "500",
                                    "global-order": "random"})
    assert r.status_code == 422
    assert 'aria-invalid="true"' in r.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Component, component.id).global_settings.notice_limit == 5


def test_unpublished_component_is_hidden_from_visitors(app, org, client):
    admin = make_admin(org)
    process = make_process(org, slug="p-board")
    component = add_component(admin, process, "noticeboard", {"en": "Hidden board"})
    db.session.commit()
    url = f"/processes/p-board/noticeboard/{component.id}/"
    assert client.get(url).status_code == 403
    assert "Hidden board" not in client.get("/processes/p-board").get_data(as_text=True)
    login_as(client, admin)
    assert client.get(url).status_code == 200
    publish_component(admin, component)
    db.session.commit()
    login_as(client, None)
    r = client.get(url)
    assert r.status_code == 200 and "limit=3" in r.get_data(as_text=True)
    assert "Hidden board" in client.get("/processes/p-board").get_data(as_text=True)
    # a component is only reachable under its own process's slug
    make_process(org, slug="other")
    db.session.commit()
    assert client.get(f"/processes/other/noticeboard/{component.id}/").status_code == 404
