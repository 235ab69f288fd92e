"""Process services: ok, not allowed (nothing written), invalid state, and the decision logged."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from decidim_py.accounts.models import SpaceRoleName
from decidim_py.accounts.roles import grant_space_role
from decidim_py.accounts.system import SystemActor
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed
from decidim_py.testing import login_as, make_admin, make_host, make_process, make_user
from decidim_py.transparency import DecisionRecord, Visibility
from processes import services as ps
from processes.models import Process, ProcessStep, TimeFilter
from processes.queries import list_processes
from processes.services import ProcessData, StepData


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _actions() -> list[str]:
    return list(db.session.scalars(select(DecisionRecord.action).order_by(DecisionRecord.id)))


def test_create_process_ok_and_logged_as_admin_only(app, org):
    admin = make_admin(org)
    p = ps.create_process(admin, org, ProcessData(slug="new-one", title={"en": "New"}))
    entry = db.session.scalar(select(DecisionRecord).order_by(DecisionRecord.id.desc()))
    assert entry.action == "processes.process.create" and entry.resource_id == p.id
    assert entry.visibility == Visibility.ADMIN  # not published yet: not in the public record


def test_create_process_not_allowed_writes_nothing(app, org):
    user = make_user(org)
    with pytest.raises(NotAllowed) as info:
        ps.create_process(user, org, ProcessData(slug="nope", title={"en": "No"}))
    assert info.value.verdict.reason
    assert _count(Process) == 0 and _count(DecisionRecord) == 0


@pytest.mark.parametrize("data,message", [
    (ProcessData(slug="A B", title={"en": "x"}), "address name"),
    (ProcessData(slug="okay", title={}), "title"),
    (ProcessData(slug="okay", title={"en": "x"}, start_date=date(2027, 2, 1),
                 end_date=date(2027, 1, 1)), "end date"),
])
def test_create_process_invalid(app, org, data, message):
    with pytest.raises(InvalidState) as info:
        ps.create_process(make_admin(org), org, data)
    assert message in str(info.value.message)


def test_slug_is_unique_per_organisation(app, org):
    admin = make_admin(org)
    ps.create_process(admin, org, ProcessData(slug="same", title={"en": "x"}))
    with pytest.raises(InvalidState):
        ps.create_process(admin, org, ProcessData(slug="same", title={"en": "y"}))


def test_publish_needs_a_phase_and_unpublish_records_the_reason(app, org):
    admin = make_admin(org)
    p = make_process(org, steps=0, published=False)
    with pytest.raises(InvalidState):
        ps.publish_process(admin, p)
    ps.add_step(admin, p, StepData(title={"en": "Only"}))
    ps.publish_process(admin, p)
    with pytest.raises(InvalidState):
        ps.publish_process(admin, p)
    ps.unpublish_process(admin, p, reason="Wrong dates")
    last = db.session.scalar(select(DecisionRecord).order_by(DecisionRecord.id.desc()))
    assert (last.action, last.reason, last.visibility) == (
        "processes.process.unpublish", "Wrong dates", Visibility.PUBLIC)


def test_exactly_one_active_phase(app, org):
    admin = make_admin(org)
    p = make_process(org, steps=3)
    s1, s2, s3 = p.steps
    assert [s.is_active for s in p.steps] == [True, False, False]
    ps.activate_step(admin, s3, reason="Skip ahead")
    assert [s.is_active for s in p.steps] == [False, False, True]
    with pytest.raises(InvalidState):
        ps.activate_step(admin, s3)
    entry = db.session.scalar(select(DecisionRecord).order_by(DecisionRecord.id.desc()))
    assert entry.action == "processes.step.activate"
    assert entry.changes["from"] == s1.id and entry.changes["to"] == s3.id
    db.session.commit()
    # the database itself refuses a second active phase
    s1.is_active = True
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_reorder_move_and_delete_phases(app, org):
    admin = make_admin(org)
    p = make_process(org, steps=3)
    s1, s2, s3 = p.steps
    ps.move_step(admin, s3, -1)
    assert [s.id for s in p.steps] == [s1.id, s3.id, s2.id]
    with pytest.raises(InvalidState):
        ps.move_step(admin, s1, -1)
    with pytest.raises(InvalidState):
        ps.reorder_steps(admin, p, [s1.id, s2.id])
    with pytest.raises(InvalidState):
        ps.delete_step(admin, s1)  # active
    ps.delete_step(admin, s3)
    assert [s.id for s in p.steps] == [s1.id, s2.id] and [s.position for s in p.steps] == [0, 1]
    assert "processes.step.reorder" in _actions() and "processes.step.delete" in _actions()


def test_host_admins_run_their_own_processes_only(app, org):
    jordi, marta = make_user(org, "jordi"), make_user(org, "marta")
    gracia, raval = make_host(org, admins=[jordi]), make_host(org, admins=[marta])
    mine = ps.create_process(jordi, org, ProcessData(slug="mine", title={"en": "Mine"}, host_id=gracia.id))
    with pytest.raises(NotAllowed):
        ps.create_process(jordi, org, ProcessData(slug="theirs", title={"en": "x"}, host_id=raval.id))
    with pytest.raises(NotAllowed):
        ps.create_process(jordi, org, ProcessData(slug="org-level", title={"en": "x"}))
    ps.add_step(jordi, mine, StepData(title={"en": "One"}))
    ps.publish_process(jordi, mine)
    with pytest.raises(NotAllowed):
        ps.unpublish_process(marta, mine)
    # moving the process to another host is creating it there: refused
    data = ProcessData(slug="mine", title={"en": "Mine"}, host_id=raval.id)
    with pytest.raises(NotAllowed):
        ps.update_process(jordi, mine, data)
    entry = db.session.scalar(select(DecisionRecord).where(
        DecisionRecord.action == "processes.process.publish"))
    assert entry.actor_role == "host_admin"


def test_space_admin_manages_but_cannot_create(app, org):
    sam = make_user(org, "sam")
    p = make_process(org, steps=2)
    grant_space_role(SystemActor(org.id), p, sam, SpaceRoleName.ADMIN)
    ps.activate_step(sam, p.steps[1])
    with pytest.raises(NotAllowed):
        ps.create_process(sam, org, ProcessData(slug="by-sam", title={"en": "x"}))
    moderator = make_user(org)
    grant_space_role(SystemActor(org.id), p, moderator, SpaceRoleName.MODERATOR)
    with pytest.raises(NotAllowed):
        ps.activate_step(moderator, p.steps[0])
    with pytest.raises(InvalidState):
        grant_space_role(SystemActor(org.id), p, moderator, SpaceRoleName.MODERATOR)
    assert _actions().count("spaces.role.grant") == 2


def test_private_process_is_visible_to_members_and_roles_only(app, org, client):
    member, outsider = make_user(org, "member"), make_user(org, "outsider")
    p = make_process(org, slug="private-one", is_private=True, title={"en": "Hush"})
    ps.add_member(SystemActor(org.id), p, member)
    db.session.commit()
    assert client.get("/processes/private-one").status_code == 403
    assert "Hush" not in client.get("/processes/").get_data(as_text=True)
    login_as(client, outsider)
    assert client.get("/processes/private-one").status_code == 403
    login_as(client, member)
    assert client.get("/processes/private-one").status_code == 200
    assert "Hush" in client.get("/processes/").get_data(as_text=True)
    entry = db.session.scalar(select(DecisionRecord).where(DecisionRecord.action == "processes.member.add"))
    assert entry.visibility == Visibility.PRIVATE


def test_unpublished_process_is_404_or_403_for_visitors_but_visible_to_admins(app, org, client):
    make_process(org, slug="draft", published=False)
    admin = make_admin(org)
    db.session.commit()
    assert client.get("/processes/draft").status_code == 403
    login_as(client, admin)
    assert client.get("/processes/draft").status_code == 200


def test_list_filters_by_date_host_and_group(app, org):
    today = date.today()
    host = make_host(org)
    group = ps.save_group(SystemActor(org.id), org, {"en": "G"}, {})
    make_process(org, slug="act", start_date=today - timedelta(days=3), end_date=today + timedelta(days=3),
                 host_id=host.id)
    make_process(org, slug="upc", start_date=today + timedelta(days=3), end_date=today + timedelta(days=9),
                 group_id=group.id)
    make_process(org, slug="past", start_date=today - timedelta(days=9), end_date=today - timedelta(days=3))
    make_process(org, slug="hidden", published=False)

    def slugs(**kw):
        page, counts = list_processes(org, None, **kw)
        return [p.slug for p in page.items], counts

    assert slugs(which=TimeFilter.ACTIVE)[0] == ["act"]
    assert slugs(which=TimeFilter.UPCOMING)[0] == ["upc"]
    assert slugs(which=TimeFilter.PAST)[0] == ["past"]
    items, counts = slugs(which=TimeFilter.ALL)
    assert sorted(items) == ["act", "past", "upc"]
    assert counts == {"active": 1, "upcoming": 1, "past": 1, "all": 3}
    assert slugs(which=TimeFilter.ALL, host_id=host.id)[0] == ["act"]
    assert slugs(which=TimeFilter.ALL, group_id=group.id)[0] == ["upc"]


def test_list_is_paginated_in_sql(app, org, client):
    for i in range(25):
        make_process(org, slug=f"many-{i:02d}")
    db.session.commit()
    first = client.get("/processes/?date=all").get_data(as_text=True)
    second = client.get("/processes/?date=all&page=2").get_data(as_text=True)
    assert first.count('class="card"') == 20 and second.count('class="card"') == 5
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert client.get("/processes/?date=bogus&page=abc&host=x").status_code == 200


def test_steps_have_no_organisation_leak_through_admin_urls(app, org, client):
    admin = make_admin(org)
    p1, p2 = make_process(org, slug="one", steps=2), make_process(org, slug="two", steps=2)
    db.session.commit()
    login_as(client, admin)
    other_step = p2.steps[1].id
    assert client.post(f"/admin/processes/one/steps/{other_step}/activate").status_code == 404
    assert db.session.get(ProcessStep, other_step).is_active is False
    del p1
