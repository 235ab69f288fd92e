"""Proposals and debates are reportable items of the shared moderation: reports, automatic hiding
at the third distinct reporter (gone from lists, counts, search, pages), moderators unhide with a
justification (back everywhere), decisions in the public record without reporter identities."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from debates import services as ds
from debates.queries import list_debates
from decidim_py.accounts.models import SpaceRoleName
from decidim_py.accounts.roles import grant_space_role
from decidim_py.accounts.system import SystemActor
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.moderation import is_hidden
from decidim_py.moderation import services as m
from decidim_py.moderation.models import Moderation
from decidim_py.permissions import NotAllowed
from decidim_py.testing import login_as, make_admin, make_user
from decidim_py.transparency import DecisionRecord
from decidim_py.transparency.models import LogOutbox
from proposals import services as ps
from proposals.queries import Filters, list_proposals
from tests.debates.conftest import app  # noqa: F401  (proposals, debates and the test component)
from tests.debates.conftest import make_component as make_debates
from tests.proposals.conftest import make_component as make_proposals

TITLE, BODY = "Plant more trees in the park", "Shade in summer and a nicer walk for everyone."


def _proposal(component, author, title=TITLE):
    return ps.publish_proposal(author, ps.create_proposal(author, component, ps.ProposalData(title, BODY)))


def _debate(component, author):
    return ds.create_debate(author, component, ds.DebateData("Night buses", "Should night buses run every day?"))


def _moderator(org, space):
    user = make_user(org, "moderator")
    grant_space_role(SystemActor(org.id), space, user, SpaceRoleName.MODERATOR)
    return user


def _records(prefix="moderation."):
    return list(db.session.scalars(select(DecisionRecord).where(DecisionRecord.action.startswith(prefix))
                                   .order_by(DecisionRecord.id)))


def _url(resource) -> str:
    c = resource.component
    kind = "proposals" if type(resource).__name__ == "Proposal" else "debates"
    return f"/processes/{c.space.slug}/{kind}/{c.id}/{resource.id}"


def _list_url(component) -> str:
    return f"/processes/{component.space.slug}/{component.manifest_name}/{component.id}/"


def test_third_reporter_hides_a_proposal_everywhere_and_unhiding_brings_it_back(org, client, commit):
    c = make_proposals(org)
    author = make_user(org)
    p = _proposal(c, author)
    other = _proposal(c, author, "Open the library on Sundays")
    reporters = [make_user(org) for _ in range(3)]
    moderator = _moderator(org, c.space)
    commit()
    assert list_proposals(c, Filters()).total == 2
    m.report(reporters[0], p, "spam", f"by {reporters[0].nickname}")
    m.report(reporters[1], p, "offensive")
    assert p.hidden_at is None and not is_hidden(p)
    with pytest.raises(InvalidState):
        m.report(reporters[1], p, "spam")  # one report per person and item
    with pytest.raises(InvalidState):
        m.report(author, p, "spam")  # not one's own
    m.report(reporters[2], p, "spam")
    assert p.hidden_at is not None and is_hidden(p)  # one notion: moderation's, copied on the row
    (hide,) = _records()
    assert hide.action == "moderation.hide" and hide.actor_id is None and hide.actor_role == "system"
    assert hide.changes == {"reason": "spam", "item": {"type": "Proposal", "id": p.id}, "automatic": True,
                            "reports": 3}
    commit()
    page = list_proposals(c, Filters())
    assert page.total == 1 and [x.id for x in page.items] == [other.id]
    assert list_proposals(c, Filters(text="trees")).total == 0  # nor in the search
    r = client.get(_list_url(c))
    assert "1 proposal found" in r.text and TITLE not in r.text
    assert client.get(_url(p)).status_code == 404
    login_as(client, reporters[0])
    assert client.get(_url(p)).status_code == 404
    with pytest.raises(NotAllowed):
        ps.support_proposal(reporters[0], p)
    login_as(client, moderator)
    r = client.get(_url(p))
    assert r.status_code == 200 and "Hidden by moderation" in r.text
    moderation = db.session.scalar(select(Moderation).where(Moderation.resource_type == "Proposal"))
    with pytest.raises(InvalidState):
        m.unhide(moderator, moderation, " ")
    m.unhide(moderator, moderation, "Not spam: a real proposal.")
    assert p.hidden_at is None
    commit()
    assert list_proposals(c, Filters()).total == 2
    login_as(client, None)
    r = client.get(_url(p))
    assert r.status_code == 200 and "Hidden by moderation" not in r.text
    records = _records()
    assert [x.action for x in records] == ["moderation.hide", "moderation.unhide"]
    names = {u.nickname for u in reporters}
    for rec in records:
        text = json.dumps(rec.changes) + (rec.reason or "")
        assert not any(n in text for n in names) and rec.actor_id not in {u.id for u in reporters}
        entry = db.session.scalar(select(LogOutbox.entry).where(LogOutbox.record_id == rec.id))
        assert entry is not None and not any(n.encode() in entry for n in names)


def test_hidden_debates_leave_the_list_and_their_page(org, client, commit):
    c = make_debates(org)
    d = _debate(c, make_user(org))
    moderator = _moderator(org, c.space)
    for _ in range(3):
        m.report(make_user(org), d, "does_not_belong")
    commit()
    assert is_hidden(d)
    assert list_debates(c, "all").total == 0
    r = client.get(_list_url(c) + "?state=all")
    assert "0 debates found" in r.text
    assert client.get(_url(d)).status_code == 404
    login_as(client, moderator)
    assert "Hidden by moderation" in client.get(_url(d)).text
    m.unhide(moderator, db.session.scalar(select(Moderation)), "Relevant after all.")
    commit()
    assert list_debates(c, "all").total == 1


def test_hidden_items_take_no_comments_or_follows(org, client, commit):
    c = make_proposals(org)
    p = _proposal(c, make_user(org))
    reader = make_user(org)
    m.hide_resource(make_admin(org), p, "Personal data in the text.")
    commit()
    login_as(client, reader)
    assert client.post(f"/comments/Proposal/{p.id}", data={"body": "Hello"}).status_code == 404
    assert client.post(f"/notifications/follow/Proposal/{p.id}").status_code == 404
    assert client.get(f"/moderation/report/Proposal/{p.id}").status_code == 404


def test_report_form_on_proposal_and_debate_pages(org, client, commit):
    pc, dc = make_proposals(org), make_debates(org)
    author, reader = make_user(org), make_user(org)
    p, d = _proposal(pc, author), _debate(dc, author)
    items = [(type(x).__name__, x.id, _url(x)) for x in (p, d)]
    commit()  # the test's session holds no snapshot while the requests write (SQLite WAL)
    for kind, rid, url in items:
        anonymous = client.get(url).text
        assert 'name="reason"' not in anonymous
        login_as(client, author)
        assert 'name="reason"' not in client.get(url).text  # not one's own
        login_as(client, reader)
        page = client.get(url).text
        assert f'action="/moderation/report/{kind}/{rid}"' in page
        assert f'for="report-{kind.lower()}-spam"' in page and 'name="details"' in page
        r = client.post(f"/moderation/report/{kind}/{rid}", data={"reason": "", "next": url})
        assert r.status_code == 422 and "error-summary" in r.text
        r = client.post(f"/moderation/report/{kind}/{rid}",
                        data={"reason": "spam", "details": "An advert", "next": url})
        assert r.status_code == 303 and r.headers["Location"].endswith(url)
        login_as(client, None)


def test_moderation_screen_lists_proposals_and_debates_with_links(org, client, commit):
    pc = make_proposals(org)
    dc = make_debates(org)
    p = _proposal(pc, make_user(org))
    d = _debate(dc, make_user(org))
    m.report(make_user(org), p, "spam")
    commit()
    moderator = _moderator(org, pc.space)
    commit()
    login_as(client, moderator)
    url = f"/admin/processes/{pc.space.slug}/moderation/"
    r = client.get(url)
    assert r.status_code == 200 and f'href="{_url(p)}"' in r.text and TITLE in r.text
    db.session.rollback()
    # the debates component lives in another process: its moderators see it there
    m.report(make_user(org), d, "offensive")
    commit()
    dmod = make_user(org)
    grant_space_role(SystemActor(org.id), dc.space, dmod, SpaceRoleName.MODERATOR)
    commit()
    login_as(client, dmod)
    r = client.get(f"/admin/processes/{dc.space.slug}/moderation/")
    assert f'href="{_url(d)}"' in r.text and "Night buses" in r.text
    moderation = db.session.scalar(select(Moderation).where(Moderation.resource_type == "Debate"))
    r = client.post(f"/admin/processes/{dc.space.slug}/moderation/{moderation.id}/hide",
                    data={"justification": "Insults."})
    assert r.status_code == 303
    db.session.rollback()
    db.session.expire_all()
    assert is_hidden(d)


def test_admin_hide_of_a_proposal_is_undone_from_the_moderation_screen(org, client, commit):
    c = make_proposals(org)
    p = _proposal(c, make_user(org))
    admin = make_admin(org)
    with pytest.raises(NotAllowed):
        ps.hide_proposal(make_user(org), p, "spam")
    assert db.session.scalar(select(Moderation)) is None  # nothing written when refused
    ps.hide_proposal(admin, p, "Insults.")
    commit()
    login_as(client, admin)
    url = f"/admin/processes/{c.space.slug}/moderation/"
    r = client.get(url + "?which=hidden")
    assert f'href="{_url(p)}"' in r.text
    moderation = db.session.scalar(select(Moderation))
    r = client.post(f"{url}{moderation.id}/unhide", data={"justification": "Insults were a quote."})
    assert r.status_code == 303
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(type(p), p.id).hidden_at is None
    assert list_proposals(c, Filters()).total == 1
