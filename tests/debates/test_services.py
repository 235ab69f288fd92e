"""Debate services: ok, not allowed (nothing written), invalid state, decisions recorded."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from debates import services as s
from debates.models import Debate, DebateUpdate
from decidim_py.comments.services import create_comment
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed, can
from decidim_py.testing import make_admin, make_user
from decidim_py.transparency import DecisionRecord, Visibility
from tests.debates.conftest import make_component

TITLE, BODY = "Should the park open at night?", "Lights, safety and noise: what do you think?"
START, END = datetime(2030, 1, 1, 9, tzinfo=UTC), datetime(2030, 1, 31, 18, tzinfo=UTC)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _records(action: str) -> list[DecisionRecord]:
    return list(db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == action)
                                   .order_by(DecisionRecord.id)))


def test_participant_creates_when_the_phase_allows(app, org):
    c = make_component(org)
    author = make_user(org)
    d = s.create_debate(author, c, s.DebateData(f" {TITLE} ", BODY))
    assert d.title == TITLE and d.author_id == author.id and not d.official and not d.is_time_boxed
    (rec,) = _records("debates.debate.create")
    assert rec.resource_id == d.id and rec.visibility == Visibility.PUBLIC


def test_create_not_allowed_when_the_phase_is_closed_writes_nothing(app, org):
    c = make_component(org, step={"creation_enabled": False})
    with pytest.raises(NotAllowed) as info:
        s.create_debate(make_user(org), c, s.DebateData(TITLE, BODY))
    assert "not open" in str(info.value.verdict.reason)
    with pytest.raises(NotAllowed):
        s.create_debate(None, c, s.DebateData(TITLE, BODY))
    with pytest.raises(NotAllowed):
        s.create_debate(make_user(org), c, s.DebateData(TITLE, BODY), official=True)
    assert _count(Debate) == 0 and not _records("debates.debate.create")
    official = s.create_debate(make_admin(org), c, s.DebateData(TITLE, BODY, START, END), official=True)
    assert official.official and official.is_time_boxed


def test_time_boxed_validation(app, org):
    c = make_component(org)
    author = make_user(org)
    with pytest.raises(InvalidState, match="after the start"):
        s.create_debate(author, c, s.DebateData(TITLE, BODY, END, START))
    with pytest.raises(InvalidState, match="after the start"):
        s.create_debate(author, c, s.DebateData(TITLE, BODY, START, START))
    with pytest.raises(InvalidState, match="both"):
        s.create_debate(author, c, s.DebateData(TITLE, BODY, START, None))
    with pytest.raises(InvalidState):
        s.create_debate(author, c, s.DebateData("x", BODY))
    assert _count(Debate) == 0
    d = s.create_debate(author, c, s.DebateData(TITLE, BODY, START, END))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Debate, d.id).start_time == START and db.session.get(Debate, d.id).end_time == END


def test_edit_by_author_is_recorded_and_others_are_refused(app, org):
    c = make_component(org)
    author = make_user(org)
    d = s.create_debate(author, c, s.DebateData(TITLE, BODY))
    with pytest.raises(NotAllowed):
        s.update_debate(make_user(org), d, s.DebateData("Another title here", BODY))
    assert d.title == TITLE and not _records("debates.debate.update")
    s.update_debate(author, d, s.DebateData("Another title here", BODY))
    (rec,) = _records("debates.debate.update")
    assert rec.changes["title_sha256"] == hashlib.sha256(b"Another title here").hexdigest()


def test_close_requires_conclusions_and_is_a_recorded_decision(app, org):
    c = make_component(org)
    author = make_user(org)
    d = s.create_debate(author, c, s.DebateData(TITLE, BODY))
    with pytest.raises(InvalidState, match="conclusions"):
        s.close_debate(author, d, "   ")
    assert not d.is_closed and not _records("debates.debate.close")
    with pytest.raises(NotAllowed):
        s.close_debate(make_user(org), d, "We agree.")
    assert not d.is_closed
    s.close_debate(author, d, " We agree to open until midnight. ")
    assert d.is_closed and d.conclusions == "We agree to open until midnight."
    (rec,) = _records("debates.debate.close")
    assert rec.resource_type == "Debate" and rec.resource_id == d.id and rec.visibility == Visibility.PUBLIC
    assert rec.changes["conclusions_sha256"] == hashlib.sha256(b"We agree to open until midnight.").hexdigest()
    with pytest.raises(NotAllowed) as info:
        s.close_debate(author, d, "Again")
    assert "already closed" in str(info.value.verdict.reason)


def test_admin_closes_a_participant_debate(app, org):
    c = make_component(org)
    d = s.create_debate(make_user(org), c, s.DebateData(TITLE, BODY))
    s.close_debate(make_admin(org), d, "Conclusions of the organisation.")
    (rec,) = _records("debates.debate.close")
    assert rec.actor_role == "organization_admin"


def test_invalid_state_when_closed_concurrently(app, org):
    c = make_component(org)
    author = make_user(org)
    d = s.create_debate(author, c, s.DebateData(TITLE, BODY))
    db.session.commit()
    # another request closed it after this one checked the permission
    with db.engine.begin() as conn:
        conn.execute(Debate.__table__.update().where(Debate.__table__.c.id == d.id)
                     .values(closed_at=datetime.now(UTC), conclusions="Elsewhere"))
    with pytest.raises(InvalidState, match="already closed"):
        s.close_debate(author, d, "Mine")
    assert not _records("debates.debate.close")


def test_edits_and_updates_recheck_closed_under_the_lock(app, org):
    from unittest import mock

    c = make_component(org)
    author, admin = make_user(org), make_admin(org)
    d = s.create_debate(author, c, s.DebateData(TITLE, BODY))
    assert can(author, "debates.debate.edit", d) and can(admin, "debates.debate.add_update", d)
    db.session.commit()
    # another request closed it after this one checked the permission (require passes on the stale row)
    with db.engine.begin() as conn:
        conn.execute(Debate.__table__.update().where(Debate.__table__.c.id == d.id)
                     .values(closed_at=datetime.now(UTC), conclusions="Elsewhere"))
    with mock.patch.object(s, "require"), pytest.raises(InvalidState, match="cannot be edited"):
        s.update_debate(author, d, s.DebateData("A changed title", BODY))
    with mock.patch.object(s, "require"), pytest.raises(InvalidState, match="cannot be changed"):
        s.add_update(admin, d, "Late news")
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Debate, d.id).title == TITLE
    assert not _records("debates.debate.update") and _count(DebateUpdate) == 0


def test_no_edits_after_closing(app, org):
    c = make_component(org)
    author, admin = make_user(org), make_admin(org)
    d = s.create_debate(author, c, s.DebateData(TITLE, BODY))
    s.close_debate(author, d, "Done.")
    for who in (author, admin):
        verdict = can(who, "debates.debate.edit", d)
        assert not verdict and verdict.code == "closed" and "closed" in str(verdict.reason)
        with pytest.raises(NotAllowed):
            s.update_debate(who, d, s.DebateData("A changed title", BODY))
    with pytest.raises(NotAllowed):
        s.add_update(admin, d, "Late news")
    assert d.title == TITLE and not _records("debates.debate.update") and _count(DebateUpdate) == 0


def test_information_updates_by_admins_only(app, org):
    c = make_component(org)
    author, admin = make_user(org), make_admin(org)
    d = s.create_debate(author, c, s.DebateData(TITLE, BODY))
    with pytest.raises(NotAllowed):
        s.add_update(author, d, "News")
    with pytest.raises(InvalidState):
        s.add_update(admin, d, "  ")
    assert _count(DebateUpdate) == 0
    u = s.add_update(admin, d, "The council meets on Monday.")
    assert u.created_at is not None and d.updates == [u]
    (rec,) = _records("debates.debate.add_update")
    assert rec.changes["update_id"] == u.id


def test_comments_with_alignment_until_closed(app, org):
    c = make_component(org)
    author, commenter = make_user(org), make_user(org)
    d = s.create_debate(author, c, s.DebateData(TITLE, BODY))
    comment = create_comment(commenter, d, "I am in favour.", alignment=1)
    assert comment.alignment == 1 and comment.resource_type == "Debate"
    s.close_debate(author, d, "Done.")
    with pytest.raises(NotAllowed) as info:
        create_comment(commenter, d, "Too late.", alignment=-1)
    assert info.value.verdict.code == "debate_closed"
    assert not can(make_user(org), "comments.comment.vote", comment)


def test_time_boxed_debates_take_comments_only_between_start_and_end(app, org):
    from datetime import timedelta

    from decidim_py.comments.models import Comment
    from decidim_py.db import utcnow

    c = make_component(org)
    author, commenter, voter = make_user(org), make_user(org), make_user(org)
    now = utcnow()
    future = s.create_debate(author, c, s.DebateData(TITLE, BODY, START, END))
    ended = s.create_debate(author, c, s.DebateData(TITLE, BODY, now - timedelta(days=2), now - timedelta(days=1)))
    running = s.create_debate(author, c, s.DebateData(TITLE, BODY, now - timedelta(days=1), now + timedelta(days=1)))
    with pytest.raises(NotAllowed) as info:
        create_comment(commenter, future, "Too early.")
    assert info.value.verdict.code == "debate_not_started" and "2030" in str(info.value.verdict.reason)
    with pytest.raises(NotAllowed) as info:
        create_comment(commenter, ended, "Too late.")
    assert info.value.verdict.code == "debate_ended" and "no more comments" in str(info.value.verdict.reason)
    assert _count(Comment) == 0
    comment = create_comment(commenter, running, "Just in time.", alignment=1)
    assert can(voter, "comments.comment.vote", comment)
    assert can(voter, "debates.debate.edit", ended).code == "not_author"  # only comments stop at the end
    # the end passes: neither comments nor votes on them any more
    running.end_time = utcnow() - timedelta(seconds=1)
    running.start_time = running.end_time - timedelta(days=1)
    db.session.flush()
    assert can(voter, "comments.comment.vote", comment).code == "debate_ended"
    with pytest.raises(NotAllowed):
        create_comment(commenter, running, "After the end.")
    assert _count(Comment) == 1 and not any(d.is_closed for d in (future, ended, running))


def test_comments_blocked_in_the_phase(app, org):
    c = make_component(org, step={"comments_blocked": True})
    d = s.create_debate(make_user(org), c, s.DebateData(TITLE, BODY))
    with pytest.raises(NotAllowed):
        create_comment(make_user(org), d, "Hello", alignment=0)
