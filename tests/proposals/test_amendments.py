"""Amendments: draft → publish → accept / reject → promote, withdraw; the settings and who may do
what (not allowed: nothing written), invalid states, the decisions in the public record, the
visibility setting, the diff, and the pages as plain forms."""

from __future__ import annotations

import hashlib
from unittest import mock

import pytest
from sqlalchemy import func, select

from decidim_py.accounts.system import SystemActor
from decidim_py.components import update_component
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed, can
from decidim_py.testing import login_as, make_admin, make_user
from decidim_py.transparency import DecisionRecord, Visibility
from proposals import amendments as am
from proposals import services as s
from proposals.models import AmendmentState, Proposal, ProposalAmendment, ProposalVersion
from tests.proposals.conftest import make_component

TITLE, BODY = "Plant more trees in the park", "Shade in summer and a nicer walk for everyone."
NEW_TITLE, NEW_BODY = "Plant more fruit trees in the park", "Shade in summer, fruit in autumn for everyone."
ON = {"amendments_enabled": True}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _published(component, author, title=TITLE):
    return s.publish_proposal(author, s.create_proposal(author, component, s.ProposalData(title, BODY)))


def _records(action: str) -> list[DecisionRecord]:
    return list(db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == action)
                                   .order_by(DecisionRecord.id)))


def _amendments() -> int:
    return db.session.scalar(select(func.count()).select_from(ProposalAmendment))


@pytest.fixture
def setup(app, org):
    c = make_component(org, settings=ON)
    author, amender = make_user(org, name="Proposal Author"), make_user(org, name="Amy Amender")
    return c, author, amender, _published(c, author)


def _evaluating(proposal, amender, title=NEW_TITLE, body=NEW_BODY):
    return am.publish_amendment(amender, am.create_amendment(amender, proposal, s.ProposalData(title, body)))


# --- draft, publish, accept -----------------------------------------------------------------------


def test_draft_publish_accept_changes_the_text_keeps_the_version_and_records(setup):
    c, author, amender, p = setup
    draft = am.create_amendment(amender, p, s.ProposalData(f" {NEW_TITLE} ", NEW_BODY))
    assert draft.state == AmendmentState.DRAFT and draft.title == NEW_TITLE and draft.base_title == TITLE
    assert am.visible_to(draft, amender) and not am.visible_to(draft, author)  # drafts: their author only
    assert not _records("proposals.amendment.publish")
    am.publish_amendment(amender, draft)
    assert draft.state == AmendmentState.EVALUATING and draft.published_at is not None
    (pub,) = _records("proposals.amendment.publish")
    assert pub.visibility == Visibility.PUBLIC and pub.resource_type == "ProposalAmendment"
    assert pub.changes == {"proposal": p.reference, "amendment": draft.id, "title_sha256": sha(NEW_TITLE),
                           "body_sha256": sha(NEW_BODY)}
    with pytest.raises(NotAllowed):
        am.accept_amendment(amender, draft)  # only the proposal's author answers
    am.accept_amendment(author, draft)
    db.session.expire_all()
    p = db.session.get(Proposal, p.id)
    assert (p.title, p.body) == (NEW_TITLE, NEW_BODY)
    (version,) = db.session.scalars(select(ProposalVersion)).all()
    assert (version.title, version.body, version.amendment_id) == (TITLE, BODY, draft.id)
    amendment = db.session.get(ProposalAmendment, draft.id)
    assert amendment.state == AmendmentState.ACCEPTED and amendment.answered_at is not None
    (acc,) = _records("proposals.amendment.accept")
    assert acc.actor_id == author.id and acc.changes["title_sha256"] == sha(NEW_TITLE)
    assert acc.changes["previous_title_sha256"] == sha(TITLE) and acc.changes["previous_body_sha256"] == sha(BODY)
    panel = am.panel(p, None)
    assert panel.credited == ["Amy Amender"] and [v.id for v in panel.versions] == [version.id]
    with pytest.raises(NotAllowed):
        am.reject_amendment(author, amendment)  # already answered


def test_the_draft_is_edited_and_discarded_by_its_author_only(setup):
    c, author, amender, p = setup
    draft = am.create_amendment(amender, p, s.ProposalData(NEW_TITLE, NEW_BODY))
    with pytest.raises(NotAllowed):
        am.update_amendment(author, draft, s.ProposalData(NEW_TITLE, "Something else for everyone here."))
    am.update_amendment(amender, draft, s.ProposalData(NEW_TITLE, "Something else for everyone here."))
    assert draft.body == "Something else for everyone here."
    with pytest.raises(NotAllowed):
        am.discard_amendment(author, draft)
    am.discard_amendment(amender, draft)
    assert _amendments() == 0 and not db.session.scalars(select(DecisionRecord).where(
        DecisionRecord.action.startswith("proposals.amendment."))).all()


@pytest.mark.parametrize(("title", "body", "message"), [
    ("short", NEW_BODY, "at least 15"),
    (NEW_TITLE, "short", "at least 15"),
    (TITLE, BODY, "must change"),
])
def test_invalid_text_is_refused_and_nothing_written(setup, title, body, message):
    c, author, amender, p = setup
    with pytest.raises(InvalidState, match=message):
        am.create_amendment(amender, p, s.ProposalData(title, body))
    assert _amendments() == 0


# --- who may amend ------------------------------------------------------------------------------


def test_not_allowed_writes_nothing(app, org):
    author, amender = make_user(org), make_user(org)
    off = make_component(org)  # amendments_enabled is off by default
    p = _published(off, author)
    verdict = can(amender, am.AMEND, p)
    assert not verdict and verdict.code == "disabled"
    closed = make_component(org, settings=ON, step={"amendment_creation_enabled": False})
    q = _published(closed, author)
    assert can(amender, am.AMEND, q).code == "phase_closed"
    open_ = make_component(org, settings=ON)
    r = _published(open_, author)
    assert can(author, am.AMEND, r).code == "author"  # authors edit their proposal instead
    assert can(None, am.AMEND, r).code == "sign_in"
    for proposal, actor in ((p, amender), (q, amender), (r, author), (r, None)):
        with pytest.raises(NotAllowed):
            am.create_amendment(actor, proposal, s.ProposalData(NEW_TITLE, NEW_BODY))
    assert _amendments() == 0


def test_withdrawn_hidden_and_answered_proposals_cannot_be_amended(app, org):
    c = make_component(org, settings=ON)
    admin, author, amender = make_admin(org), make_user(org), make_user(org)
    withdrawn = _published(c, author, "A proposal that is withdrawn")
    s.withdraw_proposal(author, withdrawn)
    hidden = _published(c, author, "A proposal that gets hidden")
    s.hide_proposal(admin, hidden, "Spam")
    answered = _published(c, author, "A proposal that gets accepted")
    s.answer_proposal(admin, answered, "accepted", "Yes.")
    for proposal in (withdrawn, hidden, answered):
        assert can(amender, am.AMEND, proposal).code == "invalid_state", proposal.title
    assert "once it has been answered" in str(can(amender, am.AMEND, answered).reason)


def test_a_proposal_answered_after_publication_can_no_longer_take_the_amendment(org, setup):
    c, author, amender, p = setup
    a = _evaluating(p, amender)
    s.answer_proposal(make_admin(org), p, "accepted", "Ok")
    verdict = can(author, "proposals.amendment.accept", a)
    assert not verdict and verdict.code == "invalid_state"
    with pytest.raises(InvalidState), mock.patch.object(am, "require"):
        am.accept_amendment(author, a)  # the service checks again, under the lock
    assert db.session.get(Proposal, p.id).title == TITLE


def test_reactions_closed_in_the_phase(app, org):
    c = make_component(org, settings=ON)
    author, amender = make_user(org), make_user(org)
    p = _published(c, author)
    a = _evaluating(p, amender)
    update_component(SystemActor(org.id), c, step_values={c.space.steps[0].id: {
        "creation_enabled": True, "amendment_reaction_enabled": False}})
    for service in (am.accept_amendment, am.reject_amendment):
        with pytest.raises(NotAllowed) as info:
            service(author, a)
        assert info.value.verdict.code == "phase_closed"
    assert a.state == AmendmentState.EVALUATING and not _records("proposals.amendment.accept")


# --- reject, promote, withdraw ------------------------------------------------------------------


def test_reject_then_promote_to_a_proposal_once(setup):
    c, author, amender, p = setup
    a = _evaluating(p, amender)
    with pytest.raises(NotAllowed):
        am.promote_amendment(amender, a)  # not rejected yet
    am.reject_amendment(author, a)
    assert a.state == AmendmentState.REJECTED
    (rej,) = _records("proposals.amendment.reject")
    assert rej.changes["body_sha256"] == sha(NEW_BODY)
    with pytest.raises(NotAllowed):
        am.promote_amendment(author, a)  # only the amendment's author
    promoted = am.promote_amendment(amender, a)
    assert promoted.author_id == amender.id and promoted.published_at is not None
    assert (promoted.title, promoted.body) == (NEW_TITLE, NEW_BODY) and promoted.reference.endswith(f"-{promoted.id}")
    assert a.promoted_to_id == promoted.id
    (pro,) = _records("proposals.amendment.promote")
    assert pro.changes["promoted_to"] == promoted.reference and pro.changes["promoted_to_id"] == promoted.id
    with pytest.raises(NotAllowed):
        am.promote_amendment(amender, a)
    with pytest.raises(InvalidState), mock.patch.object(am, "require"):
        am.promote_amendment(amender, a)
    assert db.session.get(Proposal, p.id).title == TITLE  # the amended proposal is unchanged
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 2


def test_promotion_respects_the_proposal_limit_and_the_phase(app, org):
    c = make_component(org, settings={**ON, "proposal_limit": 1})
    author, amender = make_user(org), make_user(org)
    p = _published(c, author)
    _published(c, amender, "The amender's own proposal here")  # the limit is used up
    a = _evaluating(p, amender)
    am.reject_amendment(author, a)
    with pytest.raises(InvalidState, match="limit of 1"):
        am.promote_amendment(amender, a)
    assert a.promoted_to_id is None and not _records("proposals.amendment.promote")
    closed = make_component(org, settings=ON, step={"amendment_promotion_enabled": False})
    q = _published(closed, author)
    b = _evaluating(q, amender)
    am.reject_amendment(author, b)
    assert can(amender, "proposals.amendment.promote", b).code == "phase_closed"


def test_promotion_is_refused_at_the_service_when_the_phase_does_not_allow_it(app, org):
    c = make_component(org, settings=ON, step={"amendment_promotion_enabled": False})
    author, amender = make_user(org), make_user(org)
    a = _evaluating(_published(c, author), amender)
    am.reject_amendment(author, a)
    with pytest.raises(NotAllowed) as info:
        am.promote_amendment(amender, a)
    assert info.value.verdict.code == "phase_closed"
    assert a.promoted_to_id is None and not _records("proposals.amendment.promote")
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 1


def test_promotion_needs_the_create_requirement_not_creation_enabled_and_is_a_publication(app, org):
    from decidim_py.identity.eligibility import RequirementData, set_requirement
    from decidim_py.identity.models import Assurance
    from decidim_py.notifications.services import is_following
    from tests.proposals.conftest import verify_person

    c = make_component(org, settings=ON)
    author, amender = make_user(org), make_user(org)
    p = _published(c, author)
    a = _evaluating(p, amender)
    am.reject_amendment(author, a)
    system = SystemActor(org.id)
    set_requirement(system, c, "create", RequirementData(level=Assurance.SUBSTANTIAL))
    creating = can(amender, "proposals.proposal.create", c)
    assert creating.code == "verify"
    update_component(system, c, step_values={c.space.steps[0].id: {"creation_enabled": False}})
    assert not c.current_settings.creation_enabled
    with pytest.raises(NotAllowed) as info:
        am.promote_amendment(amender, a)
    assert info.value.verdict == creating  # the same refusal as creating a proposal
    assert a.promoted_to_id is None and not _records("proposals.amendment.promote")
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 1
    verify_person(amender, "person-amender")
    promoted = am.promote_amendment(amender, a)  # creation_enabled is off: promotion has its own flag
    (pub,) = [r for r in _records("proposals.proposal.publish") if r.resource_id == promoted.id]
    assert pub.visibility == Visibility.PUBLIC and pub.resource_type == "Proposal"
    assert pub.changes == {"reference": promoted.reference, "title_sha256": sha(NEW_TITLE),
                           "body_sha256": sha(NEW_BODY)}
    (pro,) = _records("proposals.amendment.promote")
    assert pro.id < pub.id
    assert is_following(amender, promoted)


def test_withdraw_before_the_answer_only(setup):
    c, author, amender, p = setup
    a = _evaluating(p, amender)
    with pytest.raises(NotAllowed):
        am.withdraw_amendment(author, a)
    am.withdraw_amendment(amender, a)
    assert a.state == AmendmentState.WITHDRAWN and a.withdrawn_at is not None
    (w,) = _records("proposals.amendment.withdraw")
    assert w.changes == {"proposal": p.reference, "amendment": a.id}
    with pytest.raises(NotAllowed):
        am.accept_amendment(author, a)
    b = _evaluating(p, amender)
    am.reject_amendment(author, b)
    with pytest.raises(NotAllowed):
        am.withdraw_amendment(amender, b)
    with pytest.raises(InvalidState), mock.patch.object(am, "require"):
        am.withdraw_amendment(amender, b)
    assert am.amendments_of(p, None) == [b]  # withdrawn ones are left out of the list


# --- visibility, diff -------------------------------------------------------------------------


def test_visibility_participants(app, org):
    c = make_component(org, settings=ON, step={"amendments_visibility": "participants"})
    author, amender, other, admin = make_user(org), make_user(org), make_user(org), make_admin(org)
    p = _published(c, author)
    a = _evaluating(p, amender)
    assert am.visible_to(a, amender) and am.visible_to(a, author) and am.visible_to(a, admin)
    assert not am.visible_to(a, other) and not am.visible_to(a, None)
    assert am.amendments_of(p, other) == [] and am.amendments_of(p, author) == [a]
    everyone = make_component(org, settings=ON)
    q = _published(everyone, author)
    b = _evaluating(q, amender)
    assert am.visible_to(b, None) and am.visible_to(b, other)


def test_text_diff_marks_removed_and_added_words_by_paragraph():
    lines = am.text_diff("Plant trees in the park.\nMore shade.", "Plant fruit trees in the park.\nMore shade!")
    assert [[(seg.kind, seg.text) for seg in line] for line in lines] == [
        [("same", "Plant "), ("added", "fruit "), ("same", "trees in the park.")],
        [("same", "More "), ("removed", "shade."), ("added", "shade!")],
    ]
    assert am.text_diff("same", "same") == [[am.Segment("same", "same")]]


# --- pages --------------------------------------------------------------------------------------


def _base(c) -> str:
    return f"/processes/{c.space.slug}/proposals/{c.id}"


def test_amend_publish_and_accept_by_forms(app, org, client, commit, setup):
    c, author, amender, p = setup
    other = make_user(org)
    commit()
    commit()  # end the test's own read snapshot
    login_as(client, amender)
    page = client.get(f"{_base(c)}/{p.id}")
    assert "Propose an amendment" in page.text
    form = client.get(f"{_base(c)}/{p.id}/amend")
    assert form.status_code == 200 and form.text.count("<h1") == 1 and f'value="{TITLE}"' in form.text
    bad = client.post(f"{_base(c)}/{p.id}/amend", data={"title": "short", "body": NEW_BODY})
    assert bad.status_code == 422 and "error-summary" in bad.text
    same = client.post(f"{_base(c)}/{p.id}/amend", data={"title": TITLE, "body": BODY})
    assert same.status_code == 409 and "must change" in same.text
    ok = client.post(f"{_base(c)}/{p.id}/amend", data={"title": NEW_TITLE, "body": NEW_BODY})
    assert ok.status_code == 303
    url = ok.headers["Location"]
    preview = client.get(url)
    assert "Draft: only you can see it" in preview.text and "Publish this amendment" in preview.text
    assert "<ins><span class=\"visually-hidden\">[added: </span>fruit </ins>" in preview.text.replace(
        '<span class="visually-hidden">]</span>', "")
    assert preview.text.count("<h1") == 1
    commit()  # end the test's own read snapshot
    login_as(client, other)
    assert client.get(url).status_code == 404  # a draft is its author's
    commit()  # end the test's own read snapshot
    login_as(client, amender)
    assert client.post(f"{url}/publish").status_code == 303
    commit()  # end the test's own read snapshot
    login_as(client, author)
    listed = client.get(f"{_base(c)}/{p.id}")
    assert NEW_TITLE in listed.text and "Waiting for the author" in listed.text
    answer = client.get(url)
    assert "Accept the amendment" in answer.text and "Reject the amendment" in answer.text
    accepted = client.post(f"{url}/accept")
    assert accepted.status_code == 303 and accepted.headers["Location"].endswith(f"/{p.id}")
    shown = client.get(accepted.headers["Location"])
    assert f"<h1>{NEW_TITLE}</h1>" in shown.text and "Earlier versions" in shown.text
    assert "Amended by: Amy Amender" in shown.text and TITLE in shown.text
    assert client.post(f"{url}/reject").status_code == 403  # already answered: nothing changes
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(ProposalAmendment, int(url.rsplit("/", 1)[1])).state == AmendmentState.ACCEPTED


def test_reject_and_promote_by_forms(app, org, client, commit, setup):
    c, author, amender, p = setup
    a = _evaluating(p, amender)
    commit()
    url = f"{_base(c)}/{p.id}/amendments/{a.id}"
    commit()  # end the test's own read snapshot
    login_as(client, author)
    assert client.post(f"{url}/reject").status_code == 303
    commit()  # end the test's own read snapshot
    login_as(client, amender)
    page = client.get(url)
    assert "Turn it into a proposal" in page.text and "Rejected" in page.text
    promoted = client.post(f"{url}/promote")
    assert promoted.status_code == 303
    db.session.rollback()
    db.session.expire_all()
    new = db.session.get(ProposalAmendment, a.id).promoted_to
    assert promoted.headers["Location"].endswith(f"/{new.id}")
    assert client.get(promoted.headers["Location"]).status_code == 200


def test_amendment_pages_respect_the_visibility_setting(app, org, client, commit):
    c = make_component(org, settings=ON, step={"amendments_visibility": "participants"})
    author, amender, other = make_user(org), make_user(org), make_user(org)
    p = _published(c, author)
    a = _evaluating(p, amender)
    commit()
    url = f"{_base(c)}/{p.id}/amendments/{a.id}"
    assert client.get(url).status_code == 404
    commit()  # end the test's own read snapshot
    login_as(client, other)
    assert client.get(url).status_code == 404 and NEW_TITLE not in client.get(f"{_base(c)}/{p.id}").text
    commit()  # end the test's own read snapshot
    login_as(client, author)
    assert client.get(url).status_code == 200


def test_refused_amend_page_shows_the_reason(app, org, client, commit, setup):
    c, author, amender, p = setup
    commit()
    commit()  # end the test's own read snapshot
    login_as(client, author)
    page = client.get(f"{_base(c)}/{p.id}/amend")
    assert page.status_code == 200 and "edit it instead" in page.text
    assert client.post(f"{_base(c)}/{p.id}/amend", data={"title": NEW_TITLE, "body": NEW_BODY}).status_code == 403
    db.session.rollback()
    assert _amendments() == 0


def test_amending_needs_the_eligibility_of_the_amend_action(app, org):
    from decidim_py.identity.models import ActionRequirement, Assurance
    from tests.proposals.conftest import verify_person

    c = make_component(org, settings=ON)
    db.session.add(ActionRequirement(organization_id=org.id, component_id=c.id, action="amend",
                                     level=Assurance.SUBSTANTIAL))
    db.session.flush()
    c.__dict__.pop("_decidim_requirements", None)
    author, amender = make_user(org), make_user(org)
    p = _published(c, author)
    assert not can(amender, am.AMEND, p)
    with pytest.raises(NotAllowed):
        am.create_amendment(amender, p, s.ProposalData(NEW_TITLE, NEW_BODY))
    assert _amendments() == 0
    verify_person(amender, "person-amender")
    assert am.create_amendment(amender, p, s.ProposalData(NEW_TITLE, NEW_BODY)).is_draft


def test_amendment_events_notify_the_proposal_followers(setup):
    """Publishing notifies the followers (the author among them); the emendation's author now follows
    and hears of the answer; whoever acted is never notified of their own act."""
    from decidim_py.notifications.models import Notification

    c, author, amender, p = setup

    def events(user):
        return [n.event for n in db.session.scalars(select(Notification).where(Notification.recipient_id == user.id)
                                                     .order_by(Notification.id))]

    first = _evaluating(p, amender)
    assert events(author) == ["proposals.amendment_published"] and events(amender) == []
    am.reject_amendment(author, first)
    assert events(amender) == ["proposals.amendment_rejected"]
    assert events(author) == ["proposals.amendment_published"]
    am.accept_amendment(author, _evaluating(p, amender, title="Plant many more trees in the park"))
    assert events(amender) == ["proposals.amendment_rejected", "proposals.amendment_accepted"]
    assert events(author) == ["proposals.amendment_published", "proposals.amendment_published"]


def test_amendments_seen_by_participants_only_notify_only_the_proposal_author_when_published(app, org):
    """With visibility "participants" the followers, who cannot see the emendation, hear nothing; the
    proposal's author, who must answer it, is told (following the proposal or not)."""
    from decidim_py.notifications.models import Follow, Notification
    from decidim_py.notifications.services import follow, text_of

    c = make_component(org, settings=ON, step={"amendments_visibility": "participants"})
    author, amender, follower = make_user(org), make_user(org), make_user(org)
    p = _published(c, author)
    follow(follower, p)
    db.session.execute(Follow.__table__.delete().where(Follow.__table__.c.user_id == author.id))
    _evaluating(p, amender)
    (note,) = db.session.scalars(select(Notification)).all()
    assert (note.recipient_id, note.event, note.resource_type, note.resource_id) == (
        author.id, "proposals.amendment_published", "Proposal", p.id)
    assert TITLE in text_of(note)
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1
