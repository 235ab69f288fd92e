"""Residents comment on a published proposal (the shared comments of the core)."""

from __future__ import annotations

from sqlalchemy import select

from decidim_py.comments.models import Comment
from decidim_py.db import db
from decidim_py.testing import login_as, make_user
from proposals.services import ProposalData, create_proposal, publish_proposal


def _published(org, component, commit):
    author = make_user(org)
    proposal = create_proposal(author, component, ProposalData(title="Plant more trees in the park",
                                                               body="Shade for the paths in summer, please."))
    publish_proposal(author, proposal)
    commit()
    return proposal, f"/processes/{component.space.slug}/proposals/{component.id}/{proposal.id}"


def test_a_resident_comments_on_a_proposal(app, org, client, component_factory, commit):
    component = component_factory()
    reader = make_user(org)
    proposal, page_url = _published(org, component, commit)
    html = client.get(page_url).get_data(as_text=True)
    assert '<section id="comments"' in html  # visitors see the thread
    login_as(client, reader)
    form = client.get(page_url).get_data(as_text=True)
    action = form.split('class="comment-form"', 1)[0].rsplit('action="', 1)[1].split('"', 1)[0]
    r = client.post(action, data={"body": "Yes, and benches too."})
    assert r.status_code == 303, r.get_data(as_text=True)
    db.session.rollback()
    comment = db.session.scalar(select(Comment))
    assert comment.resource_type == "Proposal" and comment.resource_id == proposal.id
    assert "Yes, and benches too." in client.get(page_url).get_data(as_text=True)


def test_the_comment_requirement_of_proposals_is_enforced_next_to_the_form(app, org, client, component_factory,
                                                                          commit):
    from decidim_py.accounts.system import SystemActor
    from decidim_py.identity.eligibility import RequirementData, set_requirement
    from decidim_py.identity.models import Assurance

    from .conftest import verify_person

    component = component_factory()
    set_requirement(SystemActor(org.id), component, "comment", RequirementData(level=Assurance.SUBSTANTIAL))
    reader = make_user(org)
    proposal, page_url = _published(org, component, commit)
    login_as(client, reader)
    html = client.get(page_url).get_data(as_text=True)
    assert 'class="comment-form"' not in html and "Please verify your identity" in html
    r = client.post(f"/comments/Proposal/{proposal.id}", data={"body": "Unverified"})
    assert r.status_code == 403
    db.session.rollback()
    assert db.session.scalar(select(Comment)) is None
    verify_person(reader, "person-reader")
    commit()
    assert 'class="comment-form"' in client.get(page_url).get_data(as_text=True)
    assert client.post(f"/comments/Proposal/{proposal.id}", data={"body": "Verified"}).status_code == 303
