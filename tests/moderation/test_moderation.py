"""Moderation: reports (one per person and item), automatic hiding at the third reporter,
moderators hide / unhide with a justification, organisation admins block / unblock."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from decidim_py.accounts.models import SpaceRoleName
from decidim_py.accounts.roles import grant_space_role
from decidim_py.accounts.system import SystemActor
from decidim_py.comments.services import create_comment
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.moderation import is_hidden
from decidim_py.moderation import services as m
from decidim_py.moderation.models import Moderation, Report
from decidim_py.permissions import NotAllowed
from decidim_py.testing import login_as, make_admin, make_user
from decidim_py.transparency import DecisionRecord
from decidim_py.transparency.models import LogOutbox
from tests.comments.fixtures import board_url


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def _records(action):
    return list(db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == action)))


@pytest.fixture
def comment(app, board, alice):
    c = create_comment(alice, board, "Buy cheap things")
    db.session.commit()
    return c


@pytest.fixture
def moderator(org, process):
    user = make_user(org, "mod")
    grant_space_role(SystemActor(org.id), process, user, SpaceRoleName.MODERATOR)
    db.session.commit()
    return user


def _hidden(org, comment, n=3):
    for _ in range(n):
        m.report(make_user(org), comment, "spam")
    return db.session.scalar(select(Moderation))


def test_report_ok_is_not_a_decision(app, comment, bob):
    report = m.report(bob, comment, "offensive", "  rude  ")
    assert (report.reason, report.details) == ("offensive", "rude")
    moderation = db.session.scalar(select(Moderation))
    assert moderation.report_count == 1 and moderation.hidden_at is None
    assert (moderation.space_type, moderation.component_id) == ("processes", comment.component_id)
    assert not _records("moderation.hide")


def test_report_not_allowed_writes_nothing(app, org, comment, alice):
    with pytest.raises(NotAllowed):
        m.report(None, comment, "spam")
    blocked = make_user(org)
    blocked.blocked_at = blocked.created_at
    with pytest.raises(NotAllowed):
        m.report(blocked, comment, "spam")
    with pytest.raises(InvalidState):
        m.report(alice, comment, "spam")  # own comment
    assert _count(Report) == 0


def test_report_invalid_reason(app, comment, bob):
    with pytest.raises(InvalidState):
        m.report(bob, comment, "boring")
    with pytest.raises(InvalidState):
        m.report(bob, comment, "spam", "x" * 1001)
    assert _count(Report) == 0


def test_second_report_by_the_same_person_is_refused(app, comment, bob):
    m.report(bob, comment, "spam")
    db.session.commit()
    with pytest.raises(InvalidState, match="already reported"):
        m.report(bob, comment, "offensive")
    db.session.rollback()
    assert _count(Report) == 1
    assert db.session.scalar(select(Moderation.report_count)) == 1


def test_one_report_per_person_in_the_database(app, comment, bob):
    from sqlalchemy.exc import IntegrityError

    m.report(bob, comment, "spam")
    moderation = db.session.scalar(select(Moderation))
    db.session.add(Report(organization_id=moderation.organization_id, moderation_id=moderation.id,
                          user_id=bob.id, reason="spam"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_automatic_hide_at_exactly_the_third_distinct_reporter(app, org, comment):
    reporters = [make_user(org) for _ in range(4)]
    m.report(reporters[0], comment, "spam")
    m.report(reporters[1], comment, "offensive")
    assert not is_hidden(comment)
    m.report(reporters[2], comment, "spam")
    assert is_hidden(comment)
    m.report(reporters[3], comment, "spam")  # a fourth report does not hide twice
    hides = _records("moderation.hide")
    assert len(hides) == 1
    rec = hides[0]
    assert rec.actor_id is None and rec.actor_role == "system"
    assert rec.changes["reason"] == "spam" and rec.changes["automatic"] is True
    assert rec.changes["item"] == {"type": "Comment", "id": comment.id}
    assert rec.space_type == "processes" and rec.component_id == comment.component_id


def test_moderator_hides_and_unhides_with_a_justification(app, org, comment, bob, moderator):
    m.report(bob, comment, "does_not_belong")
    moderation = db.session.scalar(select(Moderation))
    with pytest.raises(InvalidState):
        m.hide(moderator, moderation, "  ")
    assert moderation.hidden_at is None
    m.hide(moderator, moderation, "Advertising.")
    assert is_hidden(comment)
    with pytest.raises(InvalidState):
        m.hide(moderator, moderation, "Again")
    rec = _records("moderation.hide")[0]
    assert rec.actor_id == moderator.id and rec.actor_role == "space_moderator"
    assert rec.reason == "Advertising." and rec.changes["reason"] == "does_not_belong"
    m.unhide(moderator, moderation, "It was fine after all.")
    assert not is_hidden(comment) and moderation.report_count == 0
    with pytest.raises(InvalidState):
        m.unhide(moderator, moderation, "Again")
    assert len(_records("moderation.unhide")) == 1


def test_non_moderators_cannot_hide_or_unhide(app, org, comment, bob):
    moderation = _hidden(org, comment, n=1)
    with pytest.raises(NotAllowed):
        m.hide(bob, moderation, "No")
    assert moderation.hidden_at is None
    moderation = _hidden(org, comment, n=2)
    with pytest.raises(NotAllowed):
        m.unhide(bob, moderation, "No")
    assert moderation.hidden_at is not None
    admin = make_admin(org)
    m.unhide(admin, moderation, "Organisation admins moderate too.")
    assert moderation.hidden_at is None


def test_block_and_unblock_by_an_organisation_admin_only(app, org, comment, alice, moderator, process):
    admin = make_admin(org)
    with pytest.raises(NotAllowed):
        m.block_user(moderator, alice, "Spammer")
    with pytest.raises(InvalidState):
        m.block_user(admin, alice, "")
    assert alice.blocked_at is None
    m.block_user(admin, alice, "Repeated spam.", space=process)
    assert alice.blocked_at is not None
    with pytest.raises(InvalidState):
        m.block_user(admin, alice, "Again")
    with pytest.raises(NotAllowed):
        create_comment(alice, _component(comment), "A blocked account cannot comment")
    rec = _records("moderation.block")[0]
    assert rec.reason == "Repeated spam." and rec.resource_type == "User"
    with pytest.raises(NotAllowed):
        m.unblock_user(moderator, alice, "Sorry")
    m.unblock_user(admin, alice, "Appeal accepted.")
    assert alice.blocked_at is None and len(_records("moderation.unblock")) == 1
    with pytest.raises(InvalidState):
        m.unblock_user(admin, alice, "Again")


def _component(comment):
    from decidim_py.components import Component

    return db.session.get(Component, comment.component_id)


def test_moderation_records_never_name_reporters(app, org, comment, moderator):
    reporters = [make_user(org) for _ in range(3)]
    for user in reporters:
        m.report(user, comment, "spam", f"details by {user.nickname}")
    moderation = db.session.scalar(select(Moderation))
    m.unhide(moderator, moderation, "Not spam.")
    db.session.flush()
    ids = {u.id for u in reporters}
    records = list(db.session.scalars(select(DecisionRecord).where(DecisionRecord.action.startswith("moderation."))))
    assert len(records) == 2
    for rec in records:
        assert rec.actor_id not in ids
        text = json.dumps(rec.changes) + (rec.reason or "")
        assert all(u.nickname not in text for u in reporters)
        assert "user_id" not in text and "reporter" not in text
        entry = db.session.scalar(select(LogOutbox.entry).where(LogOutbox.record_id == rec.id))
        assert entry is not None and all(u.nickname.encode() not in entry for u in reporters)


# --- views ----------------------------------------------------------------------------------------


def test_report_view_and_hidden_comment_leaves_the_page(app, org, client, board, comment, bob):
    login_as(client, bob)
    r = client.get(f"/moderation/report/Comment/{comment.id}")
    assert r.status_code == 200 and "Buy cheap things" in r.text
    r = client.post(f"/moderation/report/Comment/{comment.id}", data={})
    assert r.status_code == 422
    r = client.post(f"/moderation/report/Comment/{comment.id}", data={"reason": "spam", "next": board_url(board)})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"#comment-{comment.id}")
    r = client.post(f"/moderation/report/Comment/{comment.id}", data={"reason": "spam"})
    assert r.status_code == 409 and "already reported" in r.text
    for _ in range(2):
        m.report(make_user(org), comment, "spam")
    db.session.commit()
    r = client.get(board_url(board))
    assert "Buy cheap things" not in r.text
    assert client.get(f"/moderation/report/Comment/{comment.id}").status_code == 404


def test_moderation_screen(app, org, client, process, comment, bob, moderator):
    m.report(bob, comment, "offensive")
    author_id = comment.author_id
    db.session.commit()
    url = f"/admin/processes/{process.slug}/moderation/"
    login_as(client, bob)
    assert client.get(url).status_code == 403
    login_as(client, moderator)
    r = client.get(url)
    assert r.status_code == 200 and "Buy cheap things" in r.text and "Offensive: 1" in r.text
    assert "Block the author" not in r.text  # organisation admins only
    moderation = db.session.scalar(select(Moderation))
    db.session.commit()
    r = client.post(f"{url}{moderation.id}/hide", data={"justification": ""})
    assert r.status_code == 422
    r = client.post(f"{url}{moderation.id}/hide", data={"justification": "Insults."})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(Moderation, moderation.id).hidden_at is not None
    db.session.commit()
    r = client.get(url + "?which=hidden")
    assert "Buy cheap things" in r.text
    admin = make_admin(org)
    db.session.commit()
    login_as(client, admin)
    r = client.get(url + "?which=hidden")
    assert "Block the author" in r.text
    r = client.post(f"{url}users/{author_id}/block", data={"justification": "Insults again."})
    assert r.status_code == 303
    login_as(client, moderator)
    assert client.post(f"{url}users/{author_id}/unblock", data={"justification": "x"}).status_code == 403
