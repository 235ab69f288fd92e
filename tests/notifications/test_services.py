"""Follows and notifications: who follows automatically, the events of proposals, debates and
comments, the fan-out in one statement, end of life (retention, deleted accounts)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from debates import services as ds
from decidim_py.comments.services import create_comment
from decidim_py.db import db, get_engine, utcnow
from decidim_py.errors import InvalidState
from decidim_py.notifications import notify_followers
from decidim_py.notifications import services as ns
from decidim_py.notifications.models import Follow, Notification
from decidim_py.permissions import NotAllowed
from decidim_py.testing import make_admin, make_user
from proposals import services as ps

TITLE, BODY = "Plant more trees in the park", "Shade in summer and a nicer walk for everyone."


def _proposal(component, author, title=TITLE):
    return ps.publish_proposal(author, ps.create_proposal(author, component, ps.ProposalData(title, BODY)))


def _debate(component, author):
    return ds.create_debate(author, component, ds.DebateData("Night buses", "Should night buses run every day?"))


def statements_during(action):
    """(what `action()` returned, the SQL statements it ran but BEGIN / COMMIT / ROLLBACK)."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return result, [st for st in seen if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK)", st)]


def _followers(resource) -> set[int]:
    return set(db.session.scalars(select(Follow.user_id).where(
        Follow.resource_type == type(resource).__name__, Follow.resource_id == resource.id)))


def _inbox(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.recipient_id == user.id)
                                   .order_by(Notification.id)))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_follow_and_unfollow(app, org, proposals_component):
    author, reader = make_user(org), make_user(org)
    p = _proposal(proposals_component, author)
    follow = ns.follow(reader, p)
    assert (follow.user_id, follow.resource_type, follow.resource_id) == (reader.id, "Proposal", p.id)
    assert ns.is_following(reader, p)
    with pytest.raises(InvalidState):
        ns.follow(reader, p)
    ns.unfollow(reader, p)
    assert not ns.is_following(reader, p)
    with pytest.raises(InvalidState):
        ns.unfollow(reader, p)


def test_follow_not_allowed_writes_nothing(app, org, proposals_component):
    author = make_user(org)
    p = _proposal(proposals_component, author)
    before = _count(Follow)
    with pytest.raises(NotAllowed):
        ns.follow(None, p)
    blocked = make_user(org, blocked_at=utcnow())
    with pytest.raises(NotAllowed):
        ns.follow(blocked, p)
    with pytest.raises(NotAllowed):  # not a followable item
        ns.follow(make_user(org), author)
    assert _count(Follow) == before


def test_authors_supporters_and_commenters_follow(app, org, proposals_component, debates_component):
    author, supporter, commenter = make_user(org), make_user(org), make_user(org)
    draft = ps.create_proposal(author, proposals_component, ps.ProposalData(TITLE, BODY))
    assert _followers(draft) == set()  # a draft is nobody's business yet
    p = ps.publish_proposal(author, draft)
    assert _followers(p) == {author.id}
    ps.support_proposal(supporter, p)
    create_comment(commenter, p, "I agree, and near the school too.")
    assert _followers(p) == {author.id, supporter.id, commenter.id}
    ps.unsupport_proposal(supporter, p)
    assert supporter.id in _followers(p)  # taking a support back does not unfollow
    debater = make_user(org)
    d = _debate(debates_component, debater)
    assert _followers(d) == {debater.id}
    official = ds.create_debate(make_admin(org), debates_component,
                                ds.DebateData("Budget debate", "How should we spend next year?"), official=True)
    assert _followers(official) == set()


def test_answer_published_at_once_notifies_followers_but_the_one_who_answered(app, org, proposals_component):
    author, fan = make_user(org), make_user(org)
    admin = make_admin(org)
    p = _proposal(proposals_component, author)
    ns.follow(fan, p)
    ns.follow(admin, p)
    ps.answer_proposal(admin, p, "accepted", "We will plant 40 trees.")
    for user in (author, fan):
        (n,) = _inbox(user)
        assert (n.event, n.resource_type, n.resource_id) == ("proposals.answer_published", "Proposal", p.id)
        assert n.payload == {"title": TITLE, "state": "accepted"}  # nothing about who answered
        assert n.read_at is None
        assert ns.text_of(n) == f'The proposal "{TITLE}" has an answer: Accepted.'
    assert _inbox(admin) == []
    ps.answer_proposal(admin, p, "accepted", "We will plant 45 trees.")  # same public state: no news
    assert len(_inbox(author)) == 1
    ps.answer_proposal(admin, p, "rejected", "No room after all.")
    assert [n.payload["state"] for n in _inbox(author)] == ["accepted", "rejected"]


def test_deferred_answers_notify_on_publication(app, org):
    from tests.proposals.conftest import make_component

    c = make_component(org, step={"publish_answers_immediately": False})
    author, admin = make_user(org), make_admin(org)
    first, second = _proposal(c, author, TITLE), _proposal(c, author, "Open the library on Sundays")
    ps.answer_proposal(admin, first, "evaluating", None)
    ps.answer_proposal(admin, second, "rejected", "Not in our budget.")
    assert _inbox(author) == []  # an unpublished answer is not news
    assert ps.publish_answers(admin, c) == 2
    assert sorted((n.resource_id, n.payload["state"]) for n in _inbox(author)) == [
        (first.id, "evaluating"), (second.id, "rejected")]


def test_withdrawal_notifies_the_other_followers(app, org, proposals_component):
    author, fan = make_user(org), make_user(org)
    p = _proposal(proposals_component, author)
    ns.follow(fan, p)
    ps.withdraw_proposal(author, p)
    (n,) = _inbox(fan)
    assert n.event == "proposals.withdrawn" and "was withdrawn" in ns.text_of(n)
    assert _inbox(author) == []


def test_closing_a_debate_notifies_its_followers(app, org, debates_component):
    author, fan = make_user(org), make_user(org)
    admin = make_admin(org)
    d = _debate(debates_component, author)
    ns.follow(fan, d)
    ds.close_debate(admin, d, "Night buses will run on Fridays and Saturdays.")
    for user in (author, fan):
        (n,) = _inbox(user)
        assert n.event == "debates.closed" and n.payload == {"title": "Night buses"}
    with app.test_request_context(base_url=f"http://{org.host}"):
        from flask import g

        g.organization = org
        assert ns.target_of(_inbox(fan)[0]).endswith(f"/debates/{debates_component.id}/{d.id}#conclusions-title")


def test_new_comments_notify_the_followers_but_the_commenter(app, org, proposals_component):
    author, commenter = make_user(org), make_user(org)
    p = _proposal(proposals_component, author)
    comment = create_comment(commenter, p, "Which park?")
    (n,) = _inbox(author)
    assert n.event == "comments.comment_created"
    assert n.payload == {"title": TITLE, "comment_id": comment.id}  # not the comment, not its author
    assert _inbox(commenter) == []
    reply = create_comment(author, p, "The one by the river.", parent=comment)
    assert [x.payload["comment_id"] for x in _inbox(commenter)] == [reply.id]
    assert len(_inbox(author)) == 1


def test_notify_followers_needs_a_registered_event(app, org):
    with pytest.raises(LookupError):
        notify_followers("Proposal", 1, "proposals.unknown", {})


def test_notify_user_tells_one_person_but_not_deleted_or_blocked_accounts(app, org, proposals_component):
    author, other = make_user(org), make_user(org)
    p = _proposal(proposals_component, author)
    with pytest.raises(LookupError):
        ns.notify_user(author, p, "proposals.unknown")
    assert ns.notify_user(other, p, "proposals.withdrawn", {"extra": 1}) is True
    (note,) = _inbox(other)
    assert (note.event, note.resource_type, note.resource_id) == ("proposals.withdrawn", "Proposal", p.id)
    assert note.payload == {"extra": 1, "title": TITLE} and note.organization_id == org.id
    other.blocked_at = utcnow()
    assert ns.notify_user(other, p, "proposals.withdrawn") is False
    author.deleted_at = utcnow()
    assert ns.notify_user(author, p, "proposals.withdrawn") is False
    assert ns.notify_user(None, p, "proposals.withdrawn") is False
    assert _count(Notification) == 1


def test_thousands_of_followers_in_one_insert(app, org, proposals_component):
    author = make_user(org)
    p = _proposal(proposals_component, author)
    now = utcnow()
    users = [{"organization_id": org.id, "nickname": f"f{i}", "name": f"Follower {i}", "is_admin": False,
              "is_user_manager": False, "is_managed": False, "created_at": now, "updated_at": now}
             for i in range(2000)]
    from decidim_py.accounts.models import User

    db.session.execute(User.__table__.insert(), users)
    ids = list(db.session.scalars(select(User.id).where(User.nickname.like("f%"))))
    db.session.execute(Follow.__table__.insert(), [
        {"organization_id": org.id, "user_id": uid, "resource_type": "Proposal", "resource_id": p.id,
         "created_at": now} for uid in ids])
    gone = db.session.get(User, ids[0])
    gone.deleted_at = now  # deleted and blocked accounts get nothing
    db.session.get(User, ids[1]).blocked_at = now
    db.session.flush()
    written, statements = statements_during(lambda: notify_followers(
        "Proposal", p.id, "proposals.withdrawn", {"title": TITLE}, exclude_user_id=author.id))
    assert written == 1998
    inserts = [st for st in statements if re.match(r"\s*INSERT", st)]
    assert len(inserts) == 1 and "SELECT" in inserts[0] and len(statements) == 1
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.recipient_id.in_(ids[:2]))) == 0


def test_reading(app, org, proposals_component):
    author, other = make_user(org), make_user(org)
    p = _proposal(proposals_component, author)
    for i in range(3):
        create_comment(other, p, f"Comment {i}")
    assert ns.unread_count(author) == 3
    page = ns.list_notifications(author, per_page=2)
    assert page.total == 3 and page.pages == 2
    newest = page.items[0]
    assert newest.payload["comment_id"] > page.items[1].payload["comment_id"]  # newest first
    with pytest.raises(NotAllowed):
        ns.mark_read(other, newest)
    with pytest.raises(NotAllowed):
        ns.list_notifications(None)
    ns.mark_read(author, newest)
    assert ns.unread_count(author) == 2
    assert ns.mark_all_read(author) == 2
    assert ns.unread_count(author) == 0
    assert ns.get_notification(other, newest.id) is None


def test_unread_count_is_capped(app, org, proposals_component):
    author = make_user(org)
    p = _proposal(proposals_component, author)
    db.session.execute(Notification.__table__.insert(), [
        {"organization_id": org.id, "recipient_id": author.id, "event": "proposals.withdrawn",
         "resource_type": "Proposal", "resource_id": p.id, "payload": {"title": TITLE}, "created_at": utcnow()}
        for _ in range(ns.UNREAD_CAP + 20)])
    assert ns.unread_count(author) == ns.UNREAD_CAP + 1


def test_purge_keeps_the_retention_period_and_forgets_deleted_accounts(app, org, proposals_component, monkeypatch):
    from decidim_py import jobs

    author, fan, leaver = make_user(org), make_user(org), make_user(org)
    p = _proposal(proposals_component, author)
    ns.follow(fan, p)
    ns.follow(leaver, p)
    ps.withdraw_proposal(author, p)
    old = _inbox(fan)[0]
    old.created_at = utcnow() - timedelta(days=181)
    old_id = old.id
    notify_followers("Proposal", p.id, "proposals.withdrawn", {"title": TITLE})
    leaver.deleted_at = utcnow()
    db.session.commit()
    monkeypatch.setattr(jobs, "_app", app)
    assert jobs.purge_expired_notifications.call_local() == 1 + 2 + 1  # old one; the leaver's two and follow
    db.session.rollback()
    db.session.expire_all()
    (kept,) = _inbox(fan)
    assert kept.id != old_id
    assert _inbox(leaver) == [] and leaver.id not in _followers(p)
    app.config["NOTIFICATION_RETENTION_DAYS"] = 0
    assert ns.purge_expired(utcnow() + timedelta(seconds=1)) == 2  # the fan's and the author's
    from datetime import datetime

    due = {t.name for t in jobs.huey.read_periodic(datetime(2026, 1, 1, 3, 45))}
    assert "purge_expired_notifications" in due


def test_deleting_an_account_deletes_its_follows_and_notifications(app, org, proposals_component):
    from decidim_py.accounts.models import User

    author, fan = make_user(org), make_user(org)
    p = _proposal(proposals_component, author)
    ns.follow(fan, p)
    ps.withdraw_proposal(author, p)
    assert ns.forget_user(fan) == 2
    ns.follow(fan, p)
    notify_followers("Proposal", p.id, "proposals.withdrawn", {"title": TITLE})
    db.session.commit()
    db.session.delete(db.session.get(User, fan.id))  # the foreign keys cascade
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Follow).where(Follow.user_id == fan.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.recipient_id == fan.id)) == 0
