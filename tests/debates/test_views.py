"""Public and admin pages, as plain forms (no JavaScript): list filters, the debate page with its
alignment columns, new / edit / close forms and their refusals."""

from __future__ import annotations

from sqlalchemy import select

from debates import services as s
from debates.models import Debate
from decidim_py.comments.services import create_comment
from decidim_py.db import db
from decidim_py.testing import login_as, make_admin, make_user
from tests.debates.conftest import make_component

TITLE, BODY = "Should the park open at night?", "Lights, safety and noise: what do you think?"


def _base(c) -> str:
    return f"/processes/{c.space.slug}/debates/{c.id}"


def test_list_filters_open_closed_all_and_paginates(app, org, client, commit):
    c = make_component(org)
    author = make_user(org)
    for i in range(3):
        s.create_debate(author, c, s.DebateData(f"Open debate number {i}", BODY))
    closed = s.create_debate(author, c, s.DebateData("A closed debate here", BODY))
    s.close_debate(author, closed, "Done.")
    commit()
    page = client.get(f"{_base(c)}/")
    assert page.status_code == 200 and page.text.count("<h1") == 1
    assert "3 debates found" in page.text and "A closed debate here" not in page.text
    assert 'for="state-open"' in page.text
    closed_page = client.get(f"{_base(c)}/?state=closed")
    assert "1 debate found" in closed_page.text and "A closed debate here" in closed_page.text
    assert "4 debates found" in client.get(f"{_base(c)}/?state=all").text
    assert "3 debates found" in client.get(f"{_base(c)}/?state=bogus").text
    from debates.queries import list_debates

    second = list_debates(c, "all", page=2, per_page=3)
    assert second.total == 4 and len(second.items) == 1 and second.pages == 2
    assert list_debates(c, "all", page=9, per_page=3).page == 2


def test_page_shows_alignment_columns_and_instructions(app, org, client, commit):
    c = make_component(org, settings={"instructions": {"en": "Be kind and stay on topic."}})
    author = make_user(org)
    d = s.create_debate(author, c, s.DebateData(TITLE, BODY))
    create_comment(make_user(org), d, "Yes, please open it.", alignment=1)
    create_comment(make_user(org), d, "No, too noisy.", alignment=-1)
    create_comment(make_user(org), d, "Depends on lighting.", alignment=0)
    commit()
    login_as(client, make_user(org))
    page = client.get(f"{_base(c)}/{d.id}").text
    assert page.count("<h1") == 1 and "Be kind and stay on topic." in page
    favour, against, neutral = (page.index(f'id="comments-{k}"') for k in ("in-favour", "against", "neutral"))
    assert favour < page.index("Yes, please open it.") < against < page.index("No, too noisy.") < neutral
    assert neutral < page.index("Depends on lighting.")
    assert 'name="alignment"' in page and "Publish comment" in page


def test_a_time_boxed_debate_says_why_it_takes_no_comments(app, org, client, commit):
    from datetime import UTC, datetime

    c = make_component(org)
    d = s.create_debate(make_user(org), c, s.DebateData(TITLE, BODY, datetime(2020, 1, 1, 9, tzinfo=UTC),
                                                         datetime(2020, 1, 31, 18, tzinfo=UTC)))
    commit()
    login_as(client, make_user(org))
    page = client.get(f"{_base(c)}/{d.id}").text
    assert 'class="comment-form"' not in page and "Publish comment" not in page
    assert "This debate ended on" in page and "2020" in page and "it takes no more comments" in page
    r = client.post(f"/comments/Debate/{d.id}", data={"body": "Too late", "alignment": "0"})
    assert r.status_code == 403


def test_new_debate_form_errors_and_success(app, org, client, commit):
    c = make_component(org)
    user = make_user(org)
    commit()
    login_as(client, user)
    form = client.get(f"{_base(c)}/new")
    assert form.status_code == 200 and 'for="title"' in form.text and 'for="start_time"' in form.text
    bad = client.post(f"{_base(c)}/new", data={"title": TITLE, "description": BODY,
                                               "start_time": "2030-02-01T10:00", "end_time": "2030-01-01T10:00"})
    assert bad.status_code == 422 and "error-summary" in bad.text and "The end must be after the start." in bad.text
    ok = client.post(f"{_base(c)}/new", data={"title": TITLE, "description": BODY,
                                              "start_time": "2030-01-01T10:00", "end_time": "2030-02-01T10:00"})
    assert ok.status_code == 303
    commit()
    d = db.session.scalar(select(Debate))
    assert d.is_time_boxed and d.start_time.hour == 9  # 10:00 in Madrid is 09:00 UTC in winter


def test_new_refused_when_the_phase_is_closed(app, org, client, commit):
    c = make_component(org, step={"creation_enabled": False})
    commit()
    login_as(client, make_user(org))
    assert "not open in this phase" in client.get(f"{_base(c)}/new").text
    assert client.post(f"{_base(c)}/new", data={"title": TITLE, "description": BODY}).status_code == 403


def test_close_then_edit_refused_and_record_linked(app, org, client, commit):
    c = make_component(org)
    author = make_user(org)
    d = s.create_debate(author, c, s.DebateData(TITLE, BODY))
    commit()
    login_as(client, author)
    empty = client.post(f"{_base(c)}/{d.id}/close", data={"conclusions": ""})
    assert empty.status_code == 422 and "Please write the conclusions" in empty.text
    assert client.post(f"{_base(c)}/{d.id}/close", data={"conclusions": "We agree."}).status_code == 303
    page = client.get(f"{_base(c)}/{d.id}").text
    assert "We agree." in page and "This closing in the public record (#" in page
    assert "it takes no more comments" in page and "Publish comment" not in page
    refused = client.get(f"{_base(c)}/{d.id}/edit")
    assert "it cannot be edited any more" in refused.text
    post = client.post(f"{_base(c)}/{d.id}/edit", data={"title": "Changed title", "description": BODY})
    assert post.status_code == 403
    db.session.expire_all()
    assert db.session.get(Debate, d.id).title == TITLE


def test_admin_creates_updates_and_closes(app, org, client, commit):
    c = make_component(org, step={"creation_enabled": False})
    admin = make_admin(org)
    commit()
    login_as(client, admin)
    base = f"/admin/processes/{c.space.slug}/components/debates/{c.id}"
    assert client.get(f"{base}/").status_code == 200
    ok = client.post(f"{base}/new", data={"title": TITLE, "description": BODY})
    assert ok.status_code == 303
    commit()
    d = db.session.scalar(select(Debate))
    assert d.official
    assert client.post(f"{base}/{d.id}/updates", data={"body": "The council meets on Monday."}).status_code == 303
    bad = client.post(f"{base}/{d.id}/close", data={"conclusions": ""})
    assert bad.status_code == 422 and "error-summary" in bad.text
    assert client.post(f"{base}/{d.id}/close", data={"conclusions": "Decided."}).status_code == 303
    page = client.get(f"{_base(c)}/{d.id}").text
    assert "The council meets on Monday." in page and "Decided." in page


def test_admin_screens_refuse_participants(app, org, client, commit):
    c = make_component(org)
    commit()
    login_as(client, make_user(org))
    assert client.get(f"/admin/processes/{c.space.slug}/components/debates/{c.id}/").status_code in (403, 404)
