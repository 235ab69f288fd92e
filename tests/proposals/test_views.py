"""Public and admin pages: every flow as plain forms (no JavaScript), refusals with their reason,
filters, sorts and pagination in SQL (a fixed number of statements per page)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from decidim_py.db import db, get_engine
from decidim_py.testing import login_as, make_admin, make_user
from decidim_py.transparency.models import LogEntry
from proposals import services as s
from proposals.models import Proposal, ProposalSupport
from proposals.queries import Filters, list_proposals, resolve_sort
from tests.proposals.conftest import make_component

TITLE, BODY = "Plant more trees in the park", "Shade in summer and a nicer walk for everyone."


def _base(c) -> str:
    return f"/processes/{c.space.slug}/proposals/{c.id}"


def _proposal(c, author, title=TITLE):
    return s.publish_proposal(author, s.create_proposal(author, c, s.ProposalData(title, BODY)))


def test_new_preview_publish_journey(app, org, client, commit):
    c = make_component(org)
    user = make_user(org)
    commit()
    login_as(client, user)
    page = client.get(f"{_base(c)}/new")
    assert page.status_code == 200 and page.text.count("<h1") == 1
    assert 'for="title"' in page.text and 'for="body"' in page.text
    bad = client.post(f"{_base(c)}/new", data={"title": "short", "body": "also short"})
    assert bad.status_code == 422 and "error-summary" in bad.text and "between 15 and 150" in bad.text
    assert 'aria-invalid="true"' in bad.text and 'value="short"' in bad.text
    ok = client.post(f"{_base(c)}/new", data={"title": TITLE, "body": BODY})
    assert ok.status_code == 303
    commit()  # end the test's own read snapshot
    draft = db.session.scalar(select(Proposal))
    preview = client.get(ok.headers["Location"])
    assert "Draft: only you can see it" in preview.text and "Publish this proposal" in preview.text
    commit()
    other = make_user(org)
    commit()
    login_as(client, other)
    assert client.get(f"{_base(c)}/{draft.id}").status_code == 404  # drafts are private
    login_as(client, user)
    assert client.post(f"{_base(c)}/{draft.id}/publish").status_code == 303
    db.session.expire_all()
    commit()
    assert db.session.get(Proposal, draft.id).published_at is not None
    listing = client.get(f"{_base(c)}/")
    assert TITLE in listing.text and "1 proposal found" in listing.text


def test_refused_creation_shows_the_reason(app, org, client, commit):
    c = make_component(org, step={"creation_enabled": False})
    user = make_user(org)
    commit()
    login_as(client, user)
    page = client.get(f"{_base(c)}/new")
    assert "Creating proposals is not open in this phase." in page.text
    assert client.post(f"{_base(c)}/new", data={"title": TITLE, "body": BODY}).status_code == 403
    assert db.session.scalar(select(Proposal)) is None


def test_support_by_form_and_the_reasons_of_refusals(app, org, client, commit):
    c = make_component(org, settings={"vote_limit": 1})
    author = make_user(org)
    p1, p2 = _proposal(c, author, TITLE + " one"), _proposal(c, author, TITLE + " two")
    user = make_user(org)
    commit()
    anonymous = client.get(f"{_base(c)}/{p1.id}")
    assert "Please sign in to do this." in anonymous.text
    login_as(client, user)
    page = client.get(f"{_base(c)}/{p1.id}")
    assert "Support this proposal" in page.text and "0 supports" in page.text
    assert client.post(f"{_base(c)}/{p1.id}/support").status_code == 303
    page = client.get(f"{_base(c)}/{p1.id}")
    assert "1 support" in page.text and "Withdraw my support" in page.text
    other = client.get(f"{_base(c)}/{p2.id}")
    assert "You used all your supports." in other.text
    refused = client.post(f"{_base(c)}/{p2.id}/support")
    assert refused.status_code == 403 and "You used all your supports." in refused.text
    assert client.post(f"{_base(c)}/{p1.id}/unsupport").status_code == 303
    commit()
    assert db.session.scalar(select(ProposalSupport)) is None


def test_votes_hidden_hides_counts_and_the_sort(app, org, client, commit):
    c = make_component(org, step={"votes_hidden": True})
    p = _proposal(c, make_user(org))
    s.support_proposal(make_user(org), p)
    commit()
    page = client.get(f"{_base(c)}/{p.id}")
    assert "1 support" not in page.text
    listing = client.get(f"{_base(c)}/?order=most_supported")
    assert 'value="most_supported"' not in listing.text


def test_withdraw_and_edit_by_form(app, org, client, commit):
    c = make_component(org)
    author = make_user(org)
    p = _proposal(c, author)
    commit()
    login_as(client, author)
    edit = client.post(f"{_base(c)}/{p.id}/edit", data={"title": TITLE + " again", "body": BODY})
    assert edit.status_code == 303
    base = _base(c)
    commit()
    assert client.post(f"{base}/{p.id}/withdraw").status_code == 303
    commit()
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).withdrawn_at is not None
    assert "Withdrawn" in client.get(f"{_base(c)}/?withdrawn=1").text
    assert "0 proposals found" in client.get(f"{_base(c)}/").text


def test_answer_page_links_to_the_public_record(app, org, client, commit):
    c = make_component(org)
    p = _proposal(c, make_user(org))
    admin = make_admin(org)
    commit()
    login_as(client, admin)
    admin_base = f"/admin/processes/{c.space.slug}/components/proposals/{c.id}"
    listing = client.get(f"{admin_base}/")
    assert listing.status_code == 200 and TITLE in listing.text
    missing = client.post(f"{admin_base}/{p.id}/answer", data={"state": "rejected", "answer": ""})
    assert missing.status_code == 409 and "why" in missing.text
    ok = client.post(f"{admin_base}/{p.id}/answer", data={"state": "accepted", "answer": "Yes, in 2027.",
                                                          "cost": "300"})
    assert ok.status_code == 303
    page = client.get(f"{_base(c)}/{p.id}")
    assert "Yes, in 2027." in page.text
    commit()  # a fresh snapshot of the test's own session
    index = db.session.scalar(select(LogEntry.index).order_by(LogEntry.index.desc()))
    assert f"(#{index})" in page.text
    csv = client.get(f"{admin_base}/export.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "reference;title" in csv.text.splitlines()[0].replace("id;", "")
    assert "accepted" in csv.text
    login_as(client, make_user(org))
    assert client.get(f"{admin_base}/").status_code == 403


def test_filters_and_sorts(app, org):
    c = make_component(org)
    author, other = make_user(org), make_user(org)
    a = _proposal(c, author, "Benches along the river walk")
    b = _proposal(c, other, "More bicycle lanes downtown")
    r = _proposal(c, other, "Close the central library")
    admin = make_admin(org)
    s.answer_proposal(admin, r, "rejected", "No.")
    s.support_proposal(make_user(org), b)
    ids = lambda **kw: [p.id for p in list_proposals(c, Filters(**kw), user=author).items]  # noqa: E731
    assert set(ids()) == {a.id, b.id}  # rejected hidden by default
    assert ids(states=("rejected",)) == [r.id]
    assert ids(text="bicycle") == [b.id]
    assert ids(text="%") == []
    assert ids(mine=True) == [a.id]
    assert ids(sort="most_supported")[0] == b.id
    assert ids(sort="recent") == [b.id, a.id]
    assert sorted(ids(sort="random", seed=7)) == sorted([a.id, b.id])
    assert ids(sort="random", seed=7) == ids(sort="random", seed=7)  # stable per seed


def test_default_sort_automatic(app, org):
    open_ = make_component(org)
    assert resolve_sort(open_, None) == "random"
    closed = make_component(org, step={"votes_blocked": True})
    assert resolve_sort(closed, None) == "most_supported"
    hidden = make_component(org, step={"votes_blocked": True, "votes_hidden": True})
    assert resolve_sort(hidden, None) == "random"
    assert resolve_sort(hidden, "most_supported") == "random"
    recent = make_component(org, settings={"default_sort": "recent"})
    assert resolve_sort(recent, None) == "recent"


@pytest.mark.parametrize("signed_in", [False, True])
def test_list_page_uses_a_fixed_number_of_statements(app, org, client, commit, signed_in):
    c = make_component(org)
    authors = [make_user(org) for _ in range(5)]
    for i in range(1000):
        db.session.add(Proposal(organization_id=org.id, component_id=c.id, author_id=authors[i % 5].id,
                                title=f"{TITLE} {i}", body=BODY, reference=f"R-{i}",
                                published_at=s.utcnow()))
    viewer = make_user(org)
    commit()
    if signed_in:
        login_as(client, viewer)
    counts = {}
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = get_engine()
    base = _base(c)
    for page in (1, 50):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            resp = client.get(f"{base}/?page={page}")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert resp.status_code == 200
        assert f"Page {page} of 50" in resp.text
        counts[page] = [st for st in statements if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK)", st)]
    assert len(counts[1]) == len(counts[50]) <= 10, "\n".join(st[:120] for st in counts[1])
