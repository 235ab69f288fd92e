"""Residents comment on a published proposal (the shared comments of the core)."""

from __future__ import annotations

from sqlalchemy import select

from decidim_py.comments.models import Comment
from decidim_py.db import db
from decidim_py.testing import login_as, make_user
from proposals.services import ProposalData, create_proposal, publish_proposal


def test_a_resident_comments_on_a_proposal(app, org, client, component_factory, commit):
    component = component_factory()
    author, reader = make_user(org), make_user(org)
    proposal = create_proposal(author, component, ProposalData(title="Plant more trees in the park",
                                                               body="Shade for the paths in summer, please."))
    publish_proposal(author, proposal)
    commit()
    page_url = f"/processes/{component.space.slug}/proposals/{component.id}/{proposal.id}"
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
