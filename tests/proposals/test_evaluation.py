"""Evaluators assigned per proposal (an evaluator sees and answers only theirs) and private notes
(admins and assigned evaluators only; never on public pages or in exports); the admin list filters."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import func, select

from decidim_py.accounts.models import SpaceRoleName
from decidim_py.accounts.roles import grant_space_role
from decidim_py.accounts.system import SystemActor
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed, can
from decidim_py.testing import login_as, make_admin, make_user
from decidim_py.transparency import DecisionRecord, Visibility
from decidim_py.transparency.models import LogOutbox
from proposals import evaluation as ev
from proposals import services as s
from proposals.models import ProposalEvaluatorAssignment, ProposalNote
from tests.proposals.conftest import make_component

BODY = "Shade in summer and a nicer walk for everyone."
SECRET = "Call the parks department before answering: budget line 4.2"


def _published(c, author, title):
    return s.publish_proposal(author, s.create_proposal(author, c, s.ProposalData(title, BODY)))


def _records(action):
    return list(db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == action)
                                   .order_by(DecisionRecord.id)))


def _evaluator(org, c):
    user = make_user(org)
    grant_space_role(SystemActor(org.id), c.space, user, SpaceRoleName.EVALUATOR)
    return user


@pytest.fixture
def setup(app, org):
    c = make_component(org, step={"publish_answers_immediately": False})
    author = make_user(org)
    p1 = _published(c, author, "Plant more trees in the park")
    p2 = _published(c, author, "More bicycle lanes downtown")
    return c, make_admin(org), _evaluator(org, c), p1, p2


def test_assign_is_recorded_for_admins_and_idempotent(setup, org):
    c, admin, evaluator, p1, p2 = setup
    assert ev.assign_evaluator(admin, [p1, p2], evaluator) == 2
    assert ev.assign_evaluator(admin, [p1], evaluator) == 0  # already assigned: nothing new
    recs = _records("proposals.evaluator.assign")
    assert [r.resource_id for r in recs] == [p1.id, p2.id]
    assert all(r.visibility == Visibility.ADMIN and r.changes["evaluator_id"] == evaluator.id for r in recs)
    outbox = db.session.scalars(select(LogOutbox).where(LogOutbox.record_id.in_([r.id for r in recs]))).all()
    empty = hashlib.sha256(b"{}").hexdigest()  # the public entry carries no content: not who, not what
    assert len(outbox) == 2
    assert all(json.loads(o.entry)["content_sha256"] == empty and json.loads(o.entry)["visibility"] == "admin"
               for o in outbox)
    assert ev.is_assigned(evaluator, p1) and ev.is_assigned(evaluator, p2)
    assert ev.unassign_evaluator(admin, [p1], evaluator) == 1
    assert not ev.is_assigned(evaluator, p1)
    (rec,) = _records("proposals.evaluator.unassign")
    assert rec.resource_id == p1.id and rec.visibility == Visibility.ADMIN


def test_only_admins_assign_and_only_evaluators_of_the_space(setup, org):
    c, admin, evaluator, p1, _p2 = setup
    for who in (make_user(org), evaluator):
        with pytest.raises(NotAllowed):
            ev.assign_evaluator(who, [p1], evaluator)
    with pytest.raises(InvalidState):
        ev.assign_evaluator(admin, [p1], make_user(org))  # no evaluator role in the space
    other_space = make_component(org)
    with pytest.raises(InvalidState):
        ev.assign_evaluator(admin, [p1], _evaluator(org, other_space))
    with pytest.raises(InvalidState):
        ev.assign_evaluator(admin, [], evaluator)
    assert db.session.scalar(select(func.count()).select_from(ProposalEvaluatorAssignment)) == 0
    assert not _records("proposals.evaluator.assign")


def test_an_evaluator_answers_and_publishes_only_assigned_proposals(setup, org):
    c, admin, evaluator, p1, p2 = setup
    ev.assign_evaluator(admin, [p1], evaluator)
    assert can(evaluator, "proposals.proposal.answer", p1)
    refused = can(evaluator, "proposals.proposal.answer", p2)
    assert not refused and refused.code == "not_assigned"
    s.answer_proposal(evaluator, p1, "accepted", "Yes.")
    with pytest.raises(NotAllowed):
        s.answer_proposal(evaluator, p2, "accepted", "Yes.")
    s.answer_proposal(admin, p2, "rejected", "No.")
    assert s.publish_answers(evaluator, c) == 1  # p1 only: p2 is not theirs
    assert p1.state_published_at is not None and p2.state_published_at is None
    assert s.publish_answers(admin, c) == 1


def test_notes_by_admins_and_assigned_evaluators_only(setup, org):
    c, admin, evaluator, p1, _p2 = setup
    with pytest.raises(NotAllowed):
        ev.add_note(evaluator, p1, "Not mine yet")
    with pytest.raises(NotAllowed):
        ev.add_note(make_user(org), p1, "Hello")
    with pytest.raises(InvalidState):
        ev.add_note(admin, p1, "   ")
    with pytest.raises(InvalidState):
        ev.add_note(admin, p1, "x" * (ev.NOTE_MAX + 1))
    assert db.session.scalar(select(func.count()).select_from(ProposalNote)) == 0
    ev.add_note(admin, p1, SECRET)
    ev.assign_evaluator(admin, [p1], evaluator)
    ev.add_note(evaluator, p1, "Checked with the department.")
    assert [n.body for n in ev.notes_of(p1)] == [SECRET, "Checked with the department."]
    recs = _records("proposals.note.create")
    assert len(recs) == 2 and all(r.visibility == Visibility.ADMIN for r in recs)
    assert all(SECRET not in json.dumps(r.changes) for r in recs)  # the hash, never the text


def test_admin_pages_for_evaluators_and_notes_never_public(setup, org, client, commit):
    c, admin, evaluator, p1, p2 = setup
    ev.assign_evaluator(admin, [p1], evaluator)
    ev.add_note(admin, p1, SECRET)
    commit()
    admin_base = f"/admin/processes/{c.space.slug}/components/proposals/{c.id}"
    public = f"/processes/{c.space.slug}/proposals/{c.id}"
    login_as(client, evaluator)
    listing = client.get(f"{admin_base}/")
    assert listing.status_code == 200 and p1.title in listing.text and p2.title not in listing.text
    assert "Export as CSV" not in listing.text and 'name="ids"' not in listing.text
    page = client.get(f"{admin_base}/{p1.id}/answer")
    assert page.status_code == 200 and SECRET in page.text and page.text.count("<h1") == 1
    assert client.get(f"{admin_base}/{p2.id}/answer").status_code == 403
    assert client.post(f"{admin_base}/{p2.id}/notes", data={"body": "sneaky"}).status_code == 403
    added = client.post(f"{admin_base}/{p1.id}/notes", data={"body": "Looks feasible."})
    assert added.status_code == 303
    empty = client.post(f"{admin_base}/{p1.id}/notes", data={"body": ""})
    assert empty.status_code == 422 and "error-summary" in empty.text
    answered = client.post(f"{admin_base}/{p1.id}/answer", data={"state": "evaluating", "answer": ""})
    assert answered.status_code == 303
    assert client.get(f"{admin_base}/export.csv").status_code == 403
    login_as(client, admin)
    for url in (f"{admin_base}/export.csv", f"{admin_base}/export.json"):
        export = client.get(url)
        assert export.status_code == 200 and SECRET not in export.text and "Looks feasible." not in export.text
    login_as(client, make_user(org))
    for url in (f"{public}/{p1.id}", f"{public}/"):
        assert SECRET not in client.get(url).text
    assert client.get(f"{admin_base}/{p1.id}/answer").status_code == 403
    db.session.rollback()
    assert [n.body for n in ev.notes_of(p1)] == [SECRET, "Looks feasible."]


def test_assign_from_the_page_and_in_bulk_from_the_list(setup, org, client, commit):
    c, admin, evaluator, p1, p2 = setup
    second = _evaluator(org, c)
    commit()
    admin_base = f"/admin/processes/{c.space.slug}/components/proposals/{c.id}"
    login_as(client, admin)
    page = client.get(f"{admin_base}/{p1.id}/answer")
    assert "No evaluator is assigned" in page.text and 'name="evaluator_id"' in page.text
    assert client.post(f"{admin_base}/{p1.id}/evaluators", data={"evaluator_id": str(second.id)}).status_code == 303
    bad = client.post(f"{admin_base}/{p1.id}/evaluators", data={"evaluator_id": "999999"})
    assert bad.status_code == 422
    bulk = client.post(f"{admin_base}/bulk-evaluators", data={
        "ids": [str(p1.id), str(p2.id)], "evaluator_id": str(evaluator.id), "operation": "assign"})
    assert bulk.status_code == 303
    db.session.rollback()
    assigned = ev.evaluators_of([p1.id, p2.id])
    assert {u.id for u in assigned[p1.id]} == {evaluator.id, second.id}
    assert [u.id for u in assigned[p2.id]] == [evaluator.id]
    listing = client.get(f"{admin_base}/?evaluator={second.id}")
    assert p1.title in listing.text and p2.title not in listing.text
    assert p2.title not in client.get(f"{admin_base}/?evaluator=none").text
    removed = client.post(f"{admin_base}/bulk-evaluators", data={
        "ids": [str(p2.id)], "evaluator_id": str(evaluator.id), "operation": "unassign"})
    assert removed.status_code == 303
    assert p2.title in client.get(f"{admin_base}/?evaluator=none").text
    assert client.post(f"{admin_base}/{p1.id}/evaluators/{second.id}/remove").status_code == 303
    assert client.post(f"{admin_base}/bulk-evaluators", data={"ids": [], "evaluator_id": str(evaluator.id)}
                       ).status_code == 409
    db.session.rollback()  # end the test's read snapshot before it writes (the sign-in)
    login_as(client, evaluator)
    assert client.post(f"{admin_base}/bulk-evaluators", data={
        "ids": [str(p2.id)], "evaluator_id": str(evaluator.id), "operation": "assign"}).status_code == 403
    db.session.rollback()
    assert [a.action for a in _records("proposals.evaluator.assign")] == ["proposals.evaluator.assign"] * 3
    assert len(_records("proposals.evaluator.unassign")) == 2


def test_admin_list_filters(setup, org, client, commit):
    c, admin, _evaluator_user, p1, p2 = setup
    s.answer_proposal(admin, p1, "accepted", "Yes.")
    hidden = _published(c, make_user(org), "Close the central library")
    s.hide_proposal(admin, hidden, "Spam")
    commit()
    admin_base = f"/admin/processes/{c.space.slug}/components/proposals/{c.id}"
    login_as(client, admin)

    def titles(query):
        text = client.get(f"{admin_base}/?{query}").text
        return {t for t in (p1.title, p2.title, hidden.title) if t in text}

    assert titles("") == {p1.title, p2.title, hidden.title}
    assert titles("answered=yes") == {p1.title}
    assert titles("answered=no") == {p2.title, hidden.title}
    assert titles("hidden=only") == {hidden.title}
    assert titles("hidden=exclude") == {p1.title, p2.title}
    assert titles("state=accepted") == {p1.title}
    assert titles("q=bicycle") == {p2.title}
    assert titles("unpublished=1") == {p1.title}  # the phase defers publication
