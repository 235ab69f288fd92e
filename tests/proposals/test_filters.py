"""List filters and sorts of part 6: origin (official / participants / on behalf of a host), "my
proposals", "supported by me", withdrawn, "most commented" (a counter kept by the comments hook);
official proposals from the admin screen; the statement count stays fixed with every filter on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from decidim_py.accounts.models import HostMembership, HostRole
from decidim_py.comments.services import create_comment, delete_comment
from decidim_py.db import db, get_engine
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed
from decidim_py.testing import login_as, make_admin, make_host, make_user
from decidim_py.transparency import DecisionRecord
from proposals import services as s
from proposals.models import Proposal, ProposalSupport
from proposals.queries import Filters, list_proposals
from tests.proposals.conftest import make_component

BODY = "Shade in summer and a nicer walk for everyone."


def _member(org, host, role=HostRole.MEMBER):
    user = make_user(org)
    db.session.add(HostMembership(host=host, user=user, role=role))
    db.session.flush()
    return user


def _published(c, author, title, host_id=None):
    return s.publish_proposal(author, s.create_proposal(author, c, s.ProposalData(title, BODY, host_id=host_id)))


@pytest.fixture
def world(app, org):
    c = make_component(org)
    admin = make_admin(org)
    host = make_host(org)
    member = _member(org, host)
    resident = make_user(org)
    official = s.create_official_proposal(admin, c, s.ProposalData("Renovate the central square", BODY))
    by_host = _published(c, member, "Community garden on the old parking lot", host_id=host.id)
    own = _published(c, resident, "More bicycle lanes downtown")
    return c, admin, host, member, resident, official, by_host, own


def _ids(c, user=None, **kw):
    return [p.id for p in list_proposals(c, Filters(**kw), user=user).items]


def test_origin_filters(world):
    c, _admin, host, member, _resident, official, by_host, own = world
    assert official.is_official and official.author_id is None and official.published_at is not None
    assert by_host.author_host_id == host.id and by_host.author_id == member.id
    assert set(_ids(c)) == {official.id, by_host.id, own.id}
    assert _ids(c, origins=("official",)) == [official.id]
    assert _ids(c, origins=("host",)) == [by_host.id]
    assert _ids(c, origins=("participants",)) == [own.id]
    assert set(_ids(c, origins=("official", "host"))) == {official.id, by_host.id}
    assert set(_ids(c, origins=("bogus",))) == {official.id, by_host.id, own.id}


def test_official_proposals_are_admins_and_recorded(world, org):
    c, admin, *_rest = world
    with pytest.raises(NotAllowed):
        s.create_official_proposal(make_user(org), c, s.ProposalData("Renovate the north square", BODY))
    with pytest.raises(InvalidState):
        s.create_official_proposal(admin, c, s.ProposalData("Short", BODY))
    (rec,) = db.session.scalars(select(DecisionRecord).where(
        DecisionRecord.action == "proposals.proposal.publish", DecisionRecord.changes["official"].as_boolean()))
    assert rec.actor_role == "organization_admin" and rec.visibility == "public"
    assert db.session.scalar(select(Proposal).where(Proposal.title == "Renovate the north square")) is None


def test_on_behalf_of_a_host_needs_a_membership_and_counts_for_the_host_limit(app, org):
    c = make_component(org, settings={"proposal_limit": 1})
    host = make_host(org)
    a, b = _member(org, host), _member(org, host, HostRole.ADMIN)
    with pytest.raises(InvalidState):
        s.create_proposal(make_user(org), c, s.ProposalData("Community garden on the old lot", BODY, host_id=host.id))
    s.create_proposal(a, c, s.ProposalData("Community garden on the old lot", BODY, host_id=host.id))
    with pytest.raises(InvalidState, match="organisation has reached the limit"):
        s.create_proposal(b, c, s.ProposalData("Community kitchen in the old school", BODY, host_id=host.id))
    s.create_proposal(b, c, s.ProposalData("Community kitchen in the old school", BODY))  # as themselves


def test_mine_supported_and_withdrawn(world, org):
    c, _admin, _host, member, resident, official, by_host, own = world
    s.support_proposal(resident, official)
    s.support_proposal(resident, by_host)
    assert set(_ids(c, resident, supported=True)) == {official.id, by_host.id}
    assert _ids(c, resident, mine=True) == [own.id]
    assert set(_ids(c, None, supported=True)) == {official.id, by_host.id, own.id}  # signed out: ignored
    assert _ids(c, member, supported=True) == []
    s.withdraw_proposal(resident, own)
    assert _ids(c, resident, withdrawn=True) == [own.id]
    assert own.id not in _ids(c, resident)


def test_most_commented_with_the_comments_counter(world, org):
    c, _admin, _host, _member_user, resident, official, by_host, own = world
    commenter = make_user(org)
    first = create_comment(commenter, by_host, "Good idea.")
    create_comment(resident, by_host, "Yes!", parent=first)
    last = create_comment(commenter, own, "Agreed.")
    db.session.expire_all()
    assert (by_host.comments_count, own.comments_count, official.comments_count) == (2, 1, 0)
    assert _ids(c, sort="most_commented") == [by_host.id, own.id, official.id]
    delete_comment(commenter, last)
    delete_comment(commenter, first)
    db.session.expire_all()
    assert (by_host.comments_count, own.comments_count) == (1, 0)
    assert _ids(c, sort="most_commented")[0] == by_host.id


def test_list_page_filters_and_origin_labels(world, client, commit):
    c, _admin, host, member, resident, official, by_host, own = world
    s.support_proposal(resident, official)
    commit()
    base = f"/processes/{c.space.slug}/proposals/{c.id}"
    anonymous = client.get(f"{base}/")
    assert 'id="origin-official"' in anonymous.text and 'id="supported"' not in anonymous.text
    assert "Official proposal" in anonymous.text and host.name["en"] in anonymous.text  # the host, not the member
    assert "Most commented" in anonymous.text
    login_as(client, resident)
    page = client.get(f"{base}/?origin=official&origin=host&supported=1&order=most_commented")
    assert page.status_code == 200 and "1 proposal found" in page.text and official.title in page.text
    assert 'id="supported" name="supported" value="1" checked' in page.text
    assert client.get(f"{base}/?origin=host").text.count('class="card"') == 1


def test_new_proposal_on_behalf_of_a_host_by_form(app, org, client, commit):
    c = make_component(org)
    host = make_host(org)
    member, outsider = _member(org, host), make_user(org)
    commit()
    base = f"/processes/{c.space.slug}/proposals/{c.id}"
    login_as(client, outsider)
    assert 'name="author_host_id"' not in client.get(f"{base}/new").text
    refused = client.post(f"{base}/new", data={"title": "Community garden on the lot", "body": BODY,
                                               "author_host_id": str(host.id)})
    assert refused.status_code == 409 and "member of" in refused.text
    login_as(client, member)
    form = client.get(f"{base}/new")
    assert 'name="author_host_id"' in form.text and "On behalf of Host" in form.text
    ok = client.post(f"{base}/new", data={"title": "Community garden on the lot", "body": BODY,
                                          "author_host_id": str(host.id)})
    assert ok.status_code == 303
    db.session.rollback()
    assert db.session.scalar(select(Proposal.author_host_id).where(Proposal.author_id == member.id)) == host.id


def test_official_proposal_screen(app, org, client, commit):
    c = make_component(org)
    admin = make_admin(org)
    commit()
    admin_base = f"/admin/processes/{c.space.slug}/components/proposals/{c.id}"
    login_as(client, admin)
    page = client.get(f"{admin_base}/new")
    assert page.status_code == 200 and page.text.count("<h1") == 1 and 'for="title"' in page.text
    bad = client.post(f"{admin_base}/new", data={"title": "x", "body": ""})
    assert bad.status_code == 422 and "error-summary" in bad.text
    ok = client.post(f"{admin_base}/new", data={"title": "Renovate the central square", "body": BODY})
    assert ok.status_code == 303
    db.session.rollback()
    p = db.session.scalar(select(Proposal))
    assert p.is_official and p.published_at is not None
    assert "Official proposal" in client.get(f"/processes/{c.space.slug}/proposals/{c.id}/{p.id}").text
    login_as(client, make_user(org))
    assert client.get(f"{admin_base}/new").status_code == 403


def test_list_statements_stay_fixed_with_every_filter(app, org, client, commit):
    c = make_component(org)
    host = make_host(org)
    viewer = make_user(org)
    for i in range(60):
        origin = i % 3
        db.session.add(Proposal(organization_id=org.id, component_id=c.id, title=f"Proposal number {i:03d} here",
                                body=BODY, reference=f"R-{i}", published_at=s.utcnow(), is_official=origin == 0,
                                author_host_id=host.id if origin == 1 else None, comments_count=i % 7,
                                author_id=None if origin == 0 else viewer.id))
    db.session.flush()
    for p in db.session.scalars(select(Proposal)):
        db.session.add(ProposalSupport(proposal_id=p.id, component_id=c.id, user_id=viewer.id,
                                       person_key=f"user:{viewer.id}"))
    commit()
    login_as(client, viewer)
    base = f"/processes/{c.space.slug}/proposals/{c.id}/?origin=official&origin=host&supported=1&order=most_commented"
    counts = {}
    for page in (1, 2):
        with _statements() as statements:
            resp = client.get(f"{base}&page={page}&q=number")
        assert resp.status_code == 200 and f"Page {page} of 2" in resp.text
        counts[page] = [st for st in statements if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK)", st)]
    assert len(counts[1]) == len(counts[2]) <= 10, "\n".join(st[:120] for st in counts[1])


@contextmanager
def _statements() -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(get_engine(), "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(get_engine(), "before_cursor_execute", listener)


def test_admins_edit_official_proposals_until_supported(app, org, client, commit):
    c = make_component(org)
    admin = make_admin(org)
    official = s.create_official_proposal(admin, c, s.ProposalData("Renovate the central square", BODY))
    own = _published(c, make_user(org), "More bicycle lanes downtown")
    with pytest.raises(NotAllowed):
        s.update_official_proposal(admin, own, s.ProposalData("More bicycle lanes downtown now", BODY))
    with pytest.raises(NotAllowed):
        s.update_official_proposal(make_user(org), official, s.ProposalData("Renovate the old square", BODY))
    commit()
    admin_base = f"/admin/processes/{c.space.slug}/components/proposals/{c.id}"
    login_as(client, admin)
    assert "Edit the official proposal" in client.get(f"{admin_base}/{official.id}/answer").text
    ok = client.post(f"{admin_base}/{official.id}/edit", data={"title": "Renovate the old central square",
                                                               "body": BODY})
    assert ok.status_code == 303
    db.session.rollback()
    db.session.expire_all()
    (rec,) = db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == "proposals.proposal.update"))
    assert rec.changes["official"] is True and rec.resource_id == official.id
    official = db.session.get(Proposal, official.id)
    assert official.title == "Renovate the old central square"
    s.support_proposal(make_user(org), official)
    commit()
    assert client.get(f"{admin_base}/{official.id}/edit").status_code == 403
    assert "Edit the official proposal" not in client.get(f"{admin_base}/{official.id}/answer").text
    with pytest.raises(NotAllowed):
        s.update_official_proposal(admin, official, s.ProposalData("Renovate the new square", BODY))
