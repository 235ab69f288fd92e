"""The `comment` eligibility requirement of a component (b.4 user_allowed_to_comment?): new comments
need it, people with a role in the space (and the organisation's admins) do not; votes on comments
do not need it. Checked in the shared comments code, so it holds for every commentable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from decidim_py.accounts.models import SpaceRoleName
from decidim_py.accounts.roles import grant_space_role
from decidim_py.accounts.system import SystemActor
from decidim_py.comments.models import Comment, CommentVote
from decidim_py.comments.queries import load_thread
from decidim_py.comments.services import create_comment, vote_comment
from decidim_py.db import db, utcnow
from decidim_py.identity.eligibility import RequirementData, set_requirement
from decidim_py.identity.models import Assurance, EligibilityGrant
from decidim_py.permissions import NotAllowed
from decidim_py.testing import login_as, make_admin, make_user
from tests.comments.fixtures import board_url


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def _grant(user, level=Assurance.SUBSTANTIAL):
    db.session.add(EligibilityGrant(user_id=user.id, level=level, is_resident=True,
                                    expires_at=utcnow() + timedelta(days=30)))
    db.session.flush()
    user.__dict__.pop("_decidim_grant", None)


@pytest.fixture
def guarded(app, org, board):
    """The board's comments need a substantial sign-in."""
    set_requirement(SystemActor(org.id), board, "comment", RequirementData(level=Assurance.SUBSTANTIAL))
    db.session.commit()
    return board


def test_comment_requirement_refuses_with_the_reason_and_writes_nothing(app, org, guarded, alice):
    with pytest.raises(NotAllowed) as exc:
        create_comment(alice, guarded, "Not verified yet")
    assert exc.value.verdict.code == "verify"
    weak = make_user(org)
    _grant(weak, Assurance.LOW)
    with pytest.raises(NotAllowed) as exc:
        create_comment(weak, guarded, "Too weak a sign-in")
    assert exc.value.verdict.code == "step_up"
    assert _count(Comment) == 0


def test_comment_requirement_met_comments(app, guarded, alice):
    _grant(alice)
    comment = create_comment(alice, guarded, "Verified")
    assert comment.id is not None and _count(Comment) == 1


def test_space_roles_and_admins_comment_without_the_requirement(app, org, process, guarded):
    moderator, admin = make_user(org), make_admin(org)
    grant_space_role(SystemActor(org.id), process, moderator, SpaceRoleName.MODERATOR)
    create_comment(moderator, guarded, "As the space's moderator")
    create_comment(admin, guarded, "As an administrator")
    assert _count(Comment) == 2


def test_the_requirement_of_another_action_does_not_apply_to_comments(app, org, board, alice):
    from decidim_py.identity.models import ActionRequirement

    db.session.add(ActionRequirement(organization_id=org.id, component_id=board.id, action="create",
                                     level=Assurance.HIGH))
    db.session.flush()
    assert create_comment(alice, board, "No comment requirement here").id is not None


def test_votes_on_comments_do_not_need_the_comment_requirement(app, org, guarded, alice, bob):
    _grant(alice)
    comment = create_comment(alice, guarded, "Verified")
    assert vote_comment(bob, comment, 1) == 1
    assert _count(CommentVote) == 1
    thread = load_thread(bob, guarded)
    assert not thread.can_create and thread.can_create.code == "verify"
    assert thread.may_vote(comment) and not thread.may_reply(comment)


def test_the_page_says_why_there_is_no_comment_form_and_a_post_is_refused(app, org, client, guarded, alice):
    login_as(client, alice)
    html = client.get(board_url(guarded)).get_data(as_text=True)
    assert 'class="comment-form"' not in html
    assert "Please verify your identity" in html
    r = client.post(f"/comments/Component/{guarded.id}", data={"body": "Let me in"})
    assert r.status_code == 403
    db.session.rollback()
    assert _count(Comment) == 0
    _grant(alice)
    db.session.commit()
    assert 'class="comment-form"' in client.get(board_url(guarded)).get_data(as_text=True)
