"""Pages: the header's unread count (one statement, none for visitors), /notifications (newest
first, unread said in words, SQL pages), opening one (read, then 303 to the item), mark all as
read, follow / stop following buttons on proposal and debate pages."""

from __future__ import annotations

import re

from sqlalchemy import select

from decidim_py.comments.services import create_comment
from decidim_py.db import db
from decidim_py.notifications import services as ns
from decidim_py.notifications.models import Follow, Notification
from decidim_py.testing import login_as, make_user
from tests.notifications.test_services import TITLE, _debate, _proposal, statements_during


def _url(resource) -> str:
    c = resource.component
    kind = "proposals" if type(resource).__name__ == "Proposal" else "debates"
    return f"/processes/{c.space.slug}/{kind}/{c.id}/{resource.id}"


def _statements(client, url):
    return statements_during(lambda: client.get(url))


def test_header_count_and_the_notifications_page(app, org, client, commit, proposals_component):
    author, other = make_user(org), make_user(org)
    p = _proposal(proposals_component, author)
    comments = [create_comment(other, p, f"Comment number {i}") for i in range(3)]
    commit()
    r, statements = _statements(client, "/")
    assert "Notifications (" not in r.text
    assert not any("notifications_notifications" in st for st in statements)  # visitors: no query
    login_as(client, author)
    r, statements = _statements(client, "/")
    assert "Notifications (3 unread)" in r.text
    assert len([st for st in statements if "notifications_notifications" in st]) == 1
    r = client.get("/notifications/")
    assert r.status_code == 200 and r.text.count("<h1") == 1
    assert "3 unread" in r.text and r.text.count(">Unread</span>") == 3
    texts = re.findall(r'<li id="notification-(\d+)"', r.text)
    assert len(texts) == 3 and texts == sorted(texts, reverse=True)  # newest first
    assert f"New comment on &#34;{TITLE}&#34;." in r.text or f"New comment on &quot;{TITLE}&quot;." in r.text
    newest = db.session.scalar(select(Notification).order_by(Notification.id.desc()))
    r = client.get(f"/notifications/{newest.id}")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"{_url(p)}#comment-{comments[-1].id}")
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Notification, newest.id).read_at is not None
    r = client.get("/notifications/")
    assert r.text.count(">Unread</span>") == 2 and "Notifications (2 unread)" in r.text
    r = client.post("/notifications/read")
    assert r.status_code == 303
    r = client.get(r.headers["Location"])
    assert "All your notifications are marked as read." in r.text and ">Unread</span>" not in r.text
    assert "Mark all as read" not in r.text


def test_notifications_are_private(app, org, client, commit, proposals_component):
    author, other = make_user(org), make_user(org)
    p = _proposal(proposals_component, author)
    create_comment(other, p, "Hello")
    commit()
    mine = db.session.scalar(select(Notification))
    r = client.get("/notifications/")
    assert r.status_code == 302 and "/sign-in" in r.headers["Location"]
    assert client.get(f"/notifications/{mine.id}").status_code == 302
    login_as(client, other)
    assert client.get(f"/notifications/{mine.id}").status_code == 404
    assert "Comment" not in client.get("/notifications/").text.split("<main", 1)[1].split("</main>")[0]
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Notification, mine.id).read_at is None


def test_pages_of_notifications(app, org, client, commit, proposals_component):
    author, other = make_user(org), make_user(org)
    p = _proposal(proposals_component, author)
    for i in range(45):
        create_comment(other, p, f"Comment {i}")
    commit()
    login_as(client, author)
    r = client.get("/notifications/?page=3")
    assert "Page 3 of 3" in r.text and len(re.findall(r'<li id="notification-', r.text)) == 5
    assert "Page 3 of 3" in client.get("/notifications/?page=99").text


def test_a_notification_about_a_hidden_item_leads_back_to_the_list(app, org, client, commit, proposals_component):
    from decidim_py.moderation.services import hide_resource
    from decidim_py.testing import make_admin

    author, other = make_user(org), make_user(org)
    p = _proposal(proposals_component, author)
    create_comment(other, p, "Hello")
    hide_resource(make_admin(org), p, "Personal data.")
    commit()
    login_as(client, author)
    n = db.session.scalar(select(Notification))
    r = client.get(f"/notifications/{n.id}")
    assert r.status_code == 303 and r.headers["Location"].endswith("/notifications/")
    assert "This item is no longer available." in client.get("/notifications/").text


def test_follow_buttons_on_proposal_and_debate_pages(app, org, client, commit, proposals_component,
                                                     debates_component):
    author, reader = make_user(org), make_user(org)
    p, d = _proposal(proposals_component, author), _debate(debates_component, author)
    commit()
    for resource in (p, d):
        kind = type(resource).__name__
        assert "notifications/follow" not in client.get(_url(resource)).text  # visitors: no button
        login_as(client, author)
        assert f'action="/notifications/unfollow/{kind}/{resource.id}"' in client.get(_url(resource)).text
        login_as(client, reader)
        page = client.get(_url(resource)).text
        assert f'action="/notifications/follow/{kind}/{resource.id}"' in page and ">Follow</button>" in page
        r = client.post(f"/notifications/follow/{kind}/{resource.id}", data={"next": _url(resource)})
        assert r.status_code == 303 and r.headers["Location"].endswith(_url(resource))
        page = client.get(r.headers["Location"]).text
        assert "You follow this now" in page and "Stop following" in page
        assert client.post(f"/notifications/follow/{kind}/{resource.id}").status_code == 409
        r = client.post(f"/notifications/unfollow/{kind}/{resource.id}", data={"next": "https://evil.example/"})
        assert r.status_code == 303 and r.headers["Location"].endswith(_url(resource))
        db.session.rollback()
        assert not ns.is_following(reader, resource)
        db.session.rollback()  # no snapshot held while the next requests write (SQLite WAL)
        login_as(client, None)
    assert client.post(f"/notifications/follow/User/{reader.id}").status_code == 404
    assert client.post(f"/notifications/follow/Proposal/{p.id}").status_code == 403  # signed out
    assert db.session.scalar(select(Follow).where(Follow.user_id == reader.id)) is None
