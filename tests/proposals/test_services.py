"""Proposal services, rule by rule (b.1 supports, b.2 creation/edit/answers): ok, not allowed
(nothing written), invalid state, and the decision recorded."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from unittest import mock

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from decidim_py.accounts.models import SpaceRoleName
from decidim_py.accounts.roles import grant_space_role
from decidim_py.accounts.system import SystemActor
from decidim_py.db import db, utcnow
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed, can
from decidim_py.testing import make_admin, make_user
from decidim_py.transparency import DecisionRecord, Visibility
from proposals import services as s
from proposals.models import Proposal, ProposalState, ProposalSupport
from tests.proposals.conftest import make_component, require_person, verify_person

TITLE, BODY = "Plant more trees in the park", "Shade in summer and a nicer walk for everyone."


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _records(action: str) -> list[DecisionRecord]:
    return list(db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == action)
                                   .order_by(DecisionRecord.id)))


def _published(component, author=None, title=TITLE):
    author = author or make_user(db.session.get(type(component.space.organization), component.organization_id))
    p = s.create_proposal(author, component, s.ProposalData(title, BODY))
    return s.publish_proposal(author, p)


@pytest.fixture
def author(app, org):
    return make_user(org)


# --- creation, preview, publish ---------------------------------------------------------------


def test_create_draft_then_publish_is_recorded(app, org, author):
    c = make_component(org)
    draft = s.create_proposal(author, c, s.ProposalData(f"  {TITLE} ", BODY))
    assert draft.is_draft and draft.title == TITLE and not _records("proposals.proposal.publish")
    year, month = draft.created_at.year, draft.created_at.month
    assert draft.reference == f"CITY-PROP-{year:04d}-{month:02d}-{draft.id}"
    s.publish_proposal(author, draft)
    (rec,) = _records("proposals.proposal.publish")
    assert rec.resource_id == draft.id and rec.visibility == Visibility.PUBLIC
    assert rec.changes["title_sha256"] == hashlib.sha256(TITLE.encode()).hexdigest()
    with pytest.raises(InvalidState):
        s.publish_proposal(author, draft)


def test_create_not_allowed_when_creation_is_closed_writes_nothing(app, org, author):
    c = make_component(org, step={"creation_enabled": False})
    with pytest.raises(NotAllowed) as info:
        s.create_proposal(author, c, s.ProposalData(TITLE, BODY))
    assert "not open" in str(info.value.verdict.reason)
    assert _count(Proposal) == 0
    with pytest.raises(NotAllowed):
        s.create_proposal(None, c, s.ProposalData(TITLE, BODY))


def test_only_the_author_publishes(app, org, author):
    c = make_component(org)
    draft = s.create_proposal(author, c, s.ProposalData(TITLE, BODY))
    with pytest.raises(NotAllowed):
        s.publish_proposal(make_user(org), draft)
    assert draft.is_draft and not _records("proposals.proposal.publish")


@pytest.mark.parametrize("title,body,message", [
    ("Too short", BODY, "at least 15"),
    ("x" * 151, BODY, "at most 150"),
    (TITLE, "short", "at least 15"),
    (TITLE, "y" * 101, "at most 100"),
])
def test_title_and_body_lengths(app, org, author, title, body, message):
    c = make_component(org, settings={"proposal_length": 100})
    with pytest.raises(InvalidState) as info:
        s.create_proposal(author, c, s.ProposalData(title, body))
    assert message in str(info.value.message)
    assert _count(Proposal) == 0


def test_proposal_limit_counts_drafts_but_not_withdrawn(app, org, author):
    c = make_component(org, settings={"proposal_limit": 2})
    s.create_proposal(author, c, s.ProposalData(TITLE, BODY))  # a draft
    second = s.publish_proposal(author, s.create_proposal(author, c, s.ProposalData(TITLE, BODY)))
    with pytest.raises(InvalidState) as info:
        s.create_proposal(author, c, s.ProposalData(TITLE, BODY))
    assert "limit of 2" in str(info.value.message)
    assert _count(Proposal) == 2
    s.withdraw_proposal(author, second)
    s.create_proposal(author, c, s.ProposalData(TITLE, BODY))  # the withdrawn one no longer counts
    s.create_proposal(make_user(org), c, s.ProposalData(TITLE, BODY))  # the limit is per author


def test_discard_draft(app, org, author):
    c = make_component(org)
    draft = s.create_proposal(author, c, s.ProposalData(TITLE, BODY))
    s.discard_draft(author, draft)
    assert _count(Proposal) == 0
    published = _published(c, author)
    with pytest.raises(InvalidState):
        s.discard_draft(author, published)


# --- edit -----------------------------------------------------------------------------------


def test_edit_within_the_time_limit_then_refused(app, org, author):
    c = make_component(org)  # default: 5 minutes
    p = _published(c, author)
    s.update_proposal(author, p, s.ProposalData(TITLE + " now", BODY))
    (rec,) = _records("proposals.proposal.update")
    assert rec.changes["title_sha256"] == hashlib.sha256((TITLE + " now").encode()).hexdigest()
    with pytest.raises(NotAllowed):
        s.update_proposal(make_user(org), p, s.ProposalData(TITLE, BODY))
    p.edited_at = utcnow() - timedelta(minutes=6)
    verdict = can(author, "proposals.proposal.edit", p)
    assert not verdict and verdict.code == "edit_time"
    with pytest.raises(NotAllowed):
        s.update_proposal(author, p, s.ProposalData(TITLE, BODY))
    assert p.title == TITLE + " now" and len(_records("proposals.proposal.update")) == 1


def test_edit_time_units_and_infinite(app, org, author):
    c = make_component(org, settings={"edit_time_value": 2, "edit_time_unit": "hours"})
    p = _published(c, author)
    p.edited_at = utcnow() - timedelta(minutes=90)
    assert can(author, "proposals.proposal.edit", p)
    c2 = make_component(org, settings={"proposal_edit_time": "infinite"})
    p2 = _published(c2, author)
    p2.edited_at = utcnow() - timedelta(days=400)
    assert can(author, "proposals.proposal.edit", p2)


def test_drafts_are_always_editable_and_published_answers_stop_editing(app, org, author):
    c = make_component(org)
    draft = s.create_proposal(author, c, s.ProposalData(TITLE, BODY))
    draft.edited_at = utcnow() - timedelta(days=3)
    s.update_proposal(author, draft, s.ProposalData(TITLE, BODY + " More."))
    assert not _records("proposals.proposal.update")  # a draft is not public: nothing to record
    p = _published(c, author)
    s.answer_proposal(make_admin(org), p, "evaluating", None)
    assert not can(author, "proposals.proposal.edit", p)


# --- withdraw -------------------------------------------------------------------------------


def test_withdraw_ok_recorded_and_refused_once_supported(app, org, author):
    c = make_component(org)
    p = _published(c, author)
    s.withdraw_proposal(author, p)
    assert p.is_withdrawn and p.state == "withdrawn"
    assert len(_records("proposals.proposal.withdraw")) == 1
    with pytest.raises(NotAllowed):
        s.withdraw_proposal(author, p)
    q = _published(c, author)
    s.support_proposal(make_user(org), q)
    with pytest.raises(NotAllowed) as info:
        s.withdraw_proposal(author, q)
    assert "supports" in str(info.value.verdict.reason)
    assert not q.is_withdrawn and len(_records("proposals.proposal.withdraw")) == 1


def test_withdraw_checks_supports_inside_the_lock(app, org, author, monkeypatch):
    c = make_component(org)
    p = _published(c, author)
    supporter = make_user(org)
    s.support_proposal(supporter, p)
    monkeypatch.setattr(s, "require", lambda *a, **k: None)  # as if can() had read before the support
    with pytest.raises(InvalidState):
        s.withdraw_proposal(author, p)
    assert not p.is_withdrawn


def test_other_people_cannot_withdraw(app, org, author):
    p = _published(make_component(org), author)
    with pytest.raises(NotAllowed):
        s.withdraw_proposal(make_user(org), p)
    assert not p.is_withdrawn


# --- supports (b.1) -------------------------------------------------------------------------


def test_support_and_unsupport(app, org, author):
    c = make_component(org)
    p = _published(c, author)
    user = make_user(org)
    support = s.support_proposal(user, p)
    assert support.person_key == f"user:{user.id}" and not support.is_temporary
    assert p.supports_count == 1
    with pytest.raises(NotAllowed):  # already supported (can() says so)
        s.support_proposal(user, p)
    s.unsupport_proposal(user, p)
    assert p.supports_count == 0 and _count(ProposalSupport) == 0
    with pytest.raises(InvalidState):
        s.unsupport_proposal(user, p)


@pytest.mark.parametrize("step,code", [
    ({"votes_enabled": False}, "phase_closed"),
    ({"votes_blocked": True}, "votes_blocked"),
])
def test_support_not_allowed_in_the_phase_writes_nothing(app, org, author, step, code):
    c = make_component(org, step=step)
    p = _published(c, author)
    user = make_user(org)
    verdict = can(user, "proposals.proposal.support", p)
    assert not verdict and verdict.code == code
    with pytest.raises(NotAllowed):
        s.support_proposal(user, p)
    assert _count(ProposalSupport) == 0 and p.supports_count == 0
    with pytest.raises(NotAllowed):
        s.unsupport_proposal(user, p)


def test_anonymous_cannot_support(app, org, author):
    p = _published(make_component(org), author)
    verdict = can(None, "proposals.proposal.support", p)
    assert not verdict and verdict.code == "sign_in"


def test_vote_limit_counts_temporary_supports(app, org, author):
    c = make_component(org, settings={"vote_limit": 2, "minimum_votes_per_user": 3})
    ps = [_published(c, author, title=f"{TITLE} {i}") for i in range(3)]
    user = make_user(org)
    s.support_proposal(user, ps[0])
    s.support_proposal(user, ps[1])
    verdict = can(user, "proposals.proposal.support", ps[2])
    assert not verdict and str(verdict.reason) == "You used all your supports."
    with pytest.raises(NotAllowed):
        s.support_proposal(user, ps[2])
    assert _count(ProposalSupport) == 2
    assert [p.supports_count for p in ps] == [0, 0, 0]  # temporary: not counted
    assert can(user, "proposals.proposal.unsupport", ps[0])  # the limit does not stop unsupporting


def test_vote_limit_is_rechecked_inside_the_lock(app, org, author, monkeypatch):
    c = make_component(org, settings={"vote_limit": 1})
    p1, p2 = _published(c, author, title=TITLE + " 1"), _published(c, author, title=TITLE + " 2")
    user = make_user(org)
    s.support_proposal(user, p1)
    monkeypatch.setattr(s, "require", lambda *a, **k: None)  # as if can() had raced
    with pytest.raises(NotAllowed) as info:
        s.support_proposal(user, p2)
    assert info.value.verdict.code == "no_supports_left"
    assert _count(ProposalSupport) == 1


def test_temporary_supports_become_final_at_the_minimum_and_back(app, org, author):
    c = make_component(org, settings={"minimum_votes_per_user": 3})
    ps = [_published(c, author, title=f"{TITLE} {i}") for i in range(4)]
    user, other = make_user(org), make_user(org)
    s.support_proposal(other, ps[0])
    assert ps[0].supports_count == 0  # other's support is temporary
    s.support_proposal(user, ps[0])
    s.support_proposal(user, ps[1])
    temps = db.session.scalars(select(ProposalSupport.is_temporary).where(ProposalSupport.user_id == user.id))
    assert all(temps)
    assert [p.supports_count for p in ps] == [0, 0, 0, 0]
    s.support_proposal(user, ps[2])  # the third: all of user's supports become final
    assert [p.supports_count for p in ps] == [1, 1, 1, 0]
    s.support_proposal(user, ps[3])
    assert [p.supports_count for p in ps] == [1, 1, 1, 1]
    s.unsupport_proposal(user, ps[3])  # still 3: final
    assert [p.supports_count for p in ps] == [1, 1, 1, 0]
    s.unsupport_proposal(user, ps[2])  # 2 < 3: back to temporary
    assert [p.supports_count for p in ps] == [0, 0, 0, 0]
    temps = db.session.scalars(select(ProposalSupport.is_temporary).where(ProposalSupport.user_id == user.id))
    assert all(temps)


def test_threshold_blocks_further_supports(app, org, author):
    c = make_component(org, settings={"threshold_per_proposal": 2})
    p = _published(c, author)
    s.support_proposal(make_user(org), p)
    s.support_proposal(make_user(org), p)
    late = make_user(org)
    verdict = can(late, "proposals.proposal.support", p)
    assert not verdict and verdict.code == "threshold"
    with pytest.raises(NotAllowed):
        s.support_proposal(late, p)
    assert p.supports_count == 2


def test_threshold_is_rechecked_inside_the_lock(app, org, author, monkeypatch):
    c = make_component(org, settings={"threshold_per_proposal": 1})
    p = _published(c, author)
    s.support_proposal(make_user(org), p)
    monkeypatch.setattr(s, "require", lambda *a, **k: None)
    with pytest.raises(InvalidState) as info:
        s.support_proposal(make_user(org), p)
    assert "threshold" in str(info.value.message)
    assert p.supports_count == 1


def _supports_snapshot():
    return sorted(tuple(row) for row in db.session.execute(
        select(ProposalSupport.proposal_id, ProposalSupport.user_id, ProposalSupport.is_temporary)))


def test_completing_the_minimum_is_refused_when_a_temporary_support_would_exceed_a_threshold(app, org, author):
    """minimum 2, threshold 1: two people support p temporarily; the first to complete the minimum
    takes p's one slot; the second completing theirs is refused by name, nothing written (p stays at 1)."""
    c = make_component(org, settings={"minimum_votes_per_user": 2, "threshold_per_proposal": 1})
    p, q, r = (_published(c, author, title=f"{TITLE} {i}") for i in range(3))
    first, second = make_user(org), make_user(org)
    s.support_proposal(first, p)
    s.support_proposal(second, p)
    assert p.supports_count == 0  # both temporary
    s.support_proposal(first, q)  # first completes the minimum: p 1, q 1
    assert (p.supports_count, q.supports_count) == (1, 1)
    before = _supports_snapshot()
    with pytest.raises(InvalidState) as info:
        s.support_proposal(second, r)  # would make p's count 2 > 1
    message = str(info.value.message)
    assert f"\u201c{p.title}\u201d" in message and "withdraw that support" in message
    assert q.title not in message and r.title not in message
    assert _supports_snapshot() == before
    assert (p.supports_count, q.supports_count, r.supports_count) == (1, 1, 0)
    s.unsupport_proposal(second, p)  # the way out: withdraw it and choose another
    s.support_proposal(second, r)
    s.support_proposal(second, _published(c, author, title=f"{TITLE} 4"))
    assert (p.supports_count, r.supports_count) == (1, 1)


def test_several_full_proposals_are_all_named(app, org, author):
    c = make_component(org, settings={"minimum_votes_per_user": 3, "threshold_per_proposal": 1})
    p, q, r, t = (_published(c, author, title=f"{TITLE} {i}") for i in range(4))
    late = make_user(org)
    s.support_proposal(late, p)
    s.support_proposal(late, q)
    for target in (p, q):  # each filled by someone completing a minimum of 3 elsewhere
        other = make_user(org)
        for extra in (target, _published(c, author, title=f"{TITLE} x{target.id}a"),
                      _published(c, author, title=f"{TITLE} x{target.id}b")):
            s.support_proposal(other, extra)
    assert (p.supports_count, q.supports_count) == (1, 1)
    with pytest.raises(InvalidState) as info:
        s.support_proposal(late, r)
    message = str(info.value.message)
    assert p.title in message and q.title in message and "withdraw those supports" in message
    assert r.supports_count == 0 and t.supports_count == 0
    assert sorted(db.session.scalars(select(ProposalSupport.proposal_id).where(
        ProposalSupport.user_id == late.id))) == sorted([p.id, q.id])


def test_completing_the_minimum_is_fine_while_the_thresholds_have_room(app, org, author):
    c = make_component(org, settings={"minimum_votes_per_user": 2, "threshold_per_proposal": 2})
    p, q = (_published(c, author, title=f"{TITLE} {i}") for i in range(2))
    for _ in range(2):
        user = make_user(org)
        s.support_proposal(user, p)
        s.support_proposal(user, q)
    assert (p.supports_count, q.supports_count) == (2, 2)


def test_completing_the_minimum_may_exceed_a_threshold_when_accumulating(app, org, author):
    c = make_component(org, settings={"minimum_votes_per_user": 2, "threshold_per_proposal": 1,
                                      "can_accumulate_votes_beyond_threshold": True})
    p, q, r = (_published(c, author, title=f"{TITLE} {i}") for i in range(3))
    for other in (q, r):
        user = make_user(org)
        s.support_proposal(user, p)
        s.support_proposal(user, other)
    assert p.supports_count == 2

def test_threshold_can_be_exceeded_when_accumulating(app, org, author):
    c = make_component(org, settings={"threshold_per_proposal": 1, "can_accumulate_votes_beyond_threshold": True})
    p = _published(c, author)
    for _ in range(3):
        s.support_proposal(make_user(org), p)
    assert p.supports_count == 3


def test_rejected_withdrawn_and_drafts_cannot_be_supported(app, org, author):
    c = make_component(org)
    p = _published(c, author)
    s.answer_proposal(make_admin(org), p, "rejected", "Not feasible.")
    user = make_user(org)
    verdict = can(user, "proposals.proposal.support", p)
    assert not verdict and "Rejected" in str(verdict.reason)
    draft = s.create_proposal(author, c, s.ProposalData(TITLE, BODY))
    with pytest.raises(NotAllowed):
        s.support_proposal(user, draft)
    assert _count(ProposalSupport) == 0


def test_support_needs_the_eligibility_of_support(app, org, author):
    c = make_component(org)
    require_person(c)
    p = _published(c, author)
    user = make_user(org)
    verdict = can(user, "proposals.proposal.support", p)
    assert not verdict and verdict.code == "verify"
    with pytest.raises(NotAllowed):
        s.support_proposal(user, p)
    verify_person(user, "person-A")
    support = s.support_proposal(user, p)
    assert support.person_key == "person-A"


def test_withdrawing_a_support_needs_the_eligibility_of_support(app, org, author):
    c = make_component(org)
    require_person(c)
    p = _published(c, author)
    user = make_user(org)
    verification = verify_person(user, "person-W")
    s.support_proposal(user, p)
    verification.revoked_at = utcnow()
    db.session.flush()
    user.__dict__.pop("_decidim_grant", None)
    verdict = can(user, "proposals.proposal.unsupport", p)
    assert not verdict and verdict.code == "verify"
    with pytest.raises(NotAllowed):
        s.unsupport_proposal(user, p)
    assert _count(ProposalSupport) == 1 and p.supports_count == 1


def test_one_person_one_support_across_accounts(app, org, author):
    c = make_component(org)
    require_person(c)
    p = _published(c, author)
    first, second = make_user(org), make_user(org)
    verification = verify_person(first, "person-B")
    s.support_proposal(first, p)
    verification.revoked_at = utcnow()  # the verification moves to the person's other account
    db.session.flush()
    verify_person(second, "person-B")
    verdict = can(second, "proposals.proposal.support", p)
    assert not verdict and verdict.code == "already_supported"
    with pytest.raises(InvalidState), mock.patch.object(s, "require"):
        s.support_proposal(second, p)
    assert p.supports_count == 1


def test_the_database_refuses_a_second_support_of_a_person(app, org, author):
    c = make_component(org)
    p = _published(c, author)
    u1, u2 = make_user(org), make_user(org)
    db.session.add(ProposalSupport(proposal_id=p.id, component_id=c.id, user_id=u1.id, person_key="k"))
    db.session.flush()
    db.session.add(ProposalSupport(proposal_id=p.id, component_id=c.id, user_id=u2.id, person_key="k"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- answers (b.2) --------------------------------------------------------------------------


def test_answer_published_immediately_is_recorded_with_the_text_hash(app, org, author):
    c = make_component(org)
    p = _published(c, author)
    admin = make_admin(org)
    s.answer_proposal(admin, p, ProposalState.ACCEPTED, "We will do it.", cost=1200)
    assert p.state == "accepted" and p.cost == 1200 and p.answered_at is not None
    (rec,) = _records("proposals.proposal.answer")
    assert rec.visibility == Visibility.PUBLIC
    assert rec.changes["state"] == "accepted" and rec.changes["cost"] == 1200
    assert rec.changes["answer_sha256"] == hashlib.sha256(b"We will do it.").hexdigest()


def test_rejecting_needs_an_answer_text(app, org, author):
    p = _published(make_component(org), author)
    with pytest.raises(InvalidState) as info:
        s.answer_proposal(make_admin(org), p, "rejected", "  ")
    assert "why" in str(info.value.message)
    assert p.internal_state == ProposalState.NOT_ANSWERED and not _records("proposals.proposal.answer")


def test_cost_required_when_answers_have_costs(app, org, author):
    p = _published(make_component(org, settings={"answers_with_costs": True}), author)
    with pytest.raises(InvalidState):
        s.answer_proposal(make_admin(org), p, "accepted", "Yes")
    s.answer_proposal(make_admin(org), p, "accepted", "Yes", cost=10)


def test_unknown_state_and_unanswerable_proposals(app, org, author):
    c = make_component(org)
    p = _published(c, author)
    with pytest.raises(InvalidState):
        s.answer_proposal(make_admin(org), p, "maybe", "x")
    draft = s.create_proposal(author, c, s.ProposalData(TITLE, BODY))
    with pytest.raises(InvalidState):
        s.answer_proposal(make_admin(org), draft, "accepted", "x")


def test_deferred_answers_are_private_until_published(app, org, author):
    c = make_component(org, step={"publish_answers_immediately": False})
    p = _published(c, author)
    admin = make_admin(org)
    s.answer_proposal(admin, p, "rejected", "Out of scope.")
    assert p.state is None and p.internal_state == ProposalState.REJECTED
    (rec,) = _records("proposals.proposal.answer")
    assert rec.visibility == Visibility.ADMIN
    assert can(make_user(org), "proposals.proposal.support", p)  # not publicly rejected yet
    assert s.publish_answers(admin, c) == 1
    assert p.state == "rejected"
    recs = _records("proposals.proposal.answer")
    assert [r.visibility for r in recs] == [Visibility.ADMIN, Visibility.PUBLIC]
    assert recs[1].changes["published"] is True
    assert s.publish_answers(admin, c) == 0


def test_not_answered_clears_the_answer(app, org, author):
    p = _published(make_component(org), author)
    admin = make_admin(org)
    s.answer_proposal(admin, p, "evaluating", None)
    assert p.state == "evaluating"
    s.answer_proposal(admin, p, "not_answered", None)
    assert p.state is None and p.answered_at is None and p.state_published_at is None
    # retracting a public answer is public too
    assert [r.visibility for r in _records("proposals.proposal.answer")] == [Visibility.PUBLIC] * 2


def test_only_admins_and_evaluators_answer(app, org, author):
    c = make_component(org)
    p = _published(c, author)
    with pytest.raises(NotAllowed):
        s.answer_proposal(make_user(org), p, "accepted", "x")
    with pytest.raises(NotAllowed):
        s.publish_answers(make_user(org), c)
    assert not _records("proposals.proposal.answer")
    evaluator = make_user(org)
    grant_space_role(SystemActor(org.id), c.space, evaluator, SpaceRoleName.EVALUATOR)
    with pytest.raises(NotAllowed):  # an evaluator answers the proposals assigned to them only
        s.answer_proposal(evaluator, p, "evaluating", None)
    from proposals.evaluation import assign_evaluator

    assign_evaluator(make_admin(org), [p], evaluator)
    s.answer_proposal(evaluator, p, "evaluating", None)
    with pytest.raises(NotAllowed):
        s.hide_proposal(evaluator, p, "spam")


def test_hide_is_a_moderation_decision_with_its_reason(app, org, author):
    p = _published(make_component(org), author)
    admin = make_admin(org)
    with pytest.raises(InvalidState):
        s.hide_proposal(admin, p, " ")
    assert not _records("moderation.hide")
    s.hide_proposal(admin, p, "Insults")
    (rec,) = _records("moderation.hide")  # one notion of hidden: moderation's (shown again from its screen)
    assert rec.reason == "Insults" and rec.changes["item"] == {"type": "Proposal", "id": p.id}
    assert p.hidden_at is not None
    with pytest.raises(InvalidState):
        s.hide_proposal(admin, p, "again")
