"""Comments: services (ok, not allowed, invalid state), threads, votes, sorts, pages, views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, insert, select

from decidim_py.accounts.system import SystemActor
from decidim_py.comments.models import Comment, CommentVote
from decidim_py.comments.queries import load_thread
from decidim_py.comments.services import create_comment, delete_comment, edit_comment, vote_comment
from decidim_py.components import update_component
from decidim_py.db import db, utcnow
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed
from decidim_py.testing import login_as, make_user
from decidim_py.transparency import DecisionRecord
from tests.comments.fixtures import board_url


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def _records():
    return db.session.scalar(select(func.count()).select_from(DecisionRecord))


# --- create -----------------------------------------------------------------------------------


def test_create_comment_ok_sanitised_and_not_a_decision(app, noticeboard, alice):
    before = _records()
    c = create_comment(alice, noticeboard, "<p>Hello <script>alert(1)</script><b>world</b></p>")
    db.session.commit()
    assert c.body == "<p>Hello alert(1)<b>world</b></p>"
    assert (c.resource_type, c.resource_id, c.component_id, c.depth) == ("Component", noticeboard.id,
                                                                         noticeboard.id, 0)
    assert c.organization_id == noticeboard.organization_id
    assert _records() == before  # comments are not decisions


def test_create_comment_not_allowed_writes_nothing(app, org, board, alice):
    with pytest.raises(NotAllowed):
        create_comment(None, board, "Anonymous")
    alice.blocked_at = utcnow()
    with pytest.raises(NotAllowed):
        create_comment(alice, board, "Blocked")
    alice.blocked_at = None
    system = SystemActor(org.id)
    update_component(system, board, global_values={"comments_enabled": False})
    with pytest.raises(NotAllowed) as exc:
        create_comment(alice, board, "Disabled")
    assert exc.value.verdict.code == "comments_disabled"
    update_component(system, board, global_values={"comments_enabled": True})
    step = board.space.steps[0]
    update_component(system, board, step_values={step.id: {"comments_blocked": True}})
    with pytest.raises(NotAllowed) as exc:
        create_comment(alice, board, "Blocked phase")
    assert exc.value.verdict.code == "comments_blocked"
    assert _count(Comment) == 0


def test_create_comment_on_unpublished_component_not_allowed(app, org, board, alice):
    from decidim_py.components import unpublish_component

    unpublish_component(SystemActor(org.id), board)
    with pytest.raises(NotAllowed):
        create_comment(alice, board, "Hi")
    assert _count(Comment) == 0


@pytest.mark.parametrize("body", ["", "   ", "<script></script>", "x" * 1001])
def test_create_comment_invalid_length(app, board, alice, body):
    with pytest.raises(InvalidState):
        create_comment(alice, board, body)
    assert _count(Comment) == 0


def test_exactly_1000_characters_is_fine(app, board, alice):
    assert len(create_comment(alice, board, "y" * 1000).body) == 1000


def test_alignment_only_where_the_component_allows_it(app, board, noticeboard, alice):
    assert create_comment(alice, board, "For", alignment=1).alignment == 1
    with pytest.raises(InvalidState):
        create_comment(alice, noticeboard, "For", alignment=1)
    with pytest.raises(InvalidState):
        create_comment(alice, board, "?", alignment=2)
    assert create_comment(alice, noticeboard, "Neutral").alignment == 0


def test_thread_depth_limit_and_parent_in_same_resource(app, board, noticeboard, alice, bob):
    c0 = create_comment(alice, board, "depth 0")
    c1 = create_comment(bob, board, "depth 1", parent=c0)
    c2 = create_comment(alice, board, "depth 2", parent=c1)
    c3 = create_comment(bob, board, "depth 3", parent=c2)
    assert [c.depth for c in (c0, c1, c2, c3)] == [0, 1, 2, 3]
    assert {c1.root_id, c2.root_id, c3.root_id} == {c0.id}
    with pytest.raises(InvalidState):
        create_comment(alice, board, "depth 4", parent=c3)
    with pytest.raises(InvalidState):
        create_comment(alice, noticeboard, "elsewhere", parent=c0)
    db.session.refresh(c0)
    assert c0.replies_count == 3
    assert _count(Comment) == 4


# --- edit and delete ----------------------------------------------------------------------------


def test_edit_comment_by_author_marks_edited(app, board, alice, bob):
    c = create_comment(alice, board, "First")
    assert c.edited_at is None
    edit_comment(alice, c, "Second <img src=x onerror=alert(1)>")
    assert c.body == "Second" and c.edited_at is not None


def test_edit_comment_not_allowed_and_invalid(app, org, board, alice, bob):
    c = create_comment(alice, board, "First")
    with pytest.raises(NotAllowed):
        edit_comment(bob, c, "Hijack")
    admin = make_user(org, is_admin=True)
    with pytest.raises(NotAllowed):
        edit_comment(admin, c, "Admin edit")
    assert c.body == "First" and c.edited_at is None
    with pytest.raises(InvalidState):
        edit_comment(alice, c, "")
    delete_comment(alice, c)
    with pytest.raises(InvalidState):
        edit_comment(alice, c, "After delete")


def test_soft_delete_keeps_replies(app, board, alice, bob):
    c = create_comment(alice, board, "Parent")
    reply = create_comment(bob, board, "Reply", parent=c)
    with pytest.raises(NotAllowed):
        delete_comment(bob, c)
    assert c.deleted_at is None
    delete_comment(alice, c)
    assert c.deleted_at is not None and c.body == ""
    with pytest.raises(InvalidState):
        delete_comment(alice, c)
    thread = load_thread(None, board)
    assert thread.nodes[0].comment.id == c.id
    assert [n.comment.id for n in thread.nodes[0].children] == [reply.id]
    with pytest.raises(InvalidState):
        create_comment(bob, board, "Reply to deleted", parent=c)


# --- votes ----------------------------------------------------------------------------------------


def test_vote_toggles(app, board, alice, bob):
    c = create_comment(alice, board, "Vote on me")
    assert vote_comment(bob, c, 1) == 1
    assert (c.up_votes, c.down_votes) == (1, 0)
    assert vote_comment(bob, c, 1) == 0  # the same vote again takes it back
    assert (c.up_votes, c.down_votes) == (0, 0)
    assert vote_comment(bob, c, -1) == -1
    assert vote_comment(bob, c, 1) == 1  # switching
    assert (c.up_votes, c.down_votes) == (1, 0)
    assert _count(CommentVote) == 1


def test_vote_not_allowed_and_invalid(app, board, alice, bob):
    c = create_comment(alice, board, "Vote on me")
    with pytest.raises(NotAllowed):
        vote_comment(None, c, 1)
    with pytest.raises(InvalidState):
        vote_comment(alice, c, 1)  # own comment
    with pytest.raises(InvalidState):
        vote_comment(bob, c, 5)
    delete_comment(alice, c)
    with pytest.raises(InvalidState):
        vote_comment(bob, c, 1)
    assert _count(CommentVote) == 0


def test_one_vote_per_person_in_the_database(app, board, alice, bob):
    from sqlalchemy.exc import IntegrityError

    c = create_comment(alice, board, "Vote on me")
    db.session.commit()
    db.session.add(CommentVote(comment_id=c.id, user_id=bob.id, weight=1))
    db.session.flush()
    db.session.add(CommentVote(comment_id=c.id, user_id=bob.id, weight=-1))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- sorts and pages ------------------------------------------------------------------------------


def test_sorts_and_pagination(app, org, board, alice, bob):
    people = [make_user(org) for _ in range(3)]
    base = datetime(2030, 1, 1, tzinfo=UTC)
    comments = []
    for i in range(5):
        c = create_comment(alice, board, f"c{i}")
        c.created_at = base + timedelta(minutes=i)
        comments.append(c)
    for voter in people:  # c3 best rated
        vote_comment(voter, comments[3], 1)
    vote_comment(people[0], comments[1], 1)
    vote_comment(people[0], comments[0], -1)
    for _ in range(2):  # c2 most discussed, c4 next
        create_comment(bob, board, "r", parent=comments[2])
    create_comment(bob, board, "r", parent=comments[4])
    db.session.flush()

    def order(sort, page=1, per_page=10):
        return [n.comment.body for n in load_thread(None, board, sort=sort, page=page, per_page=per_page).nodes]

    assert order("older") == ["c0", "c1", "c2", "c3", "c4"]
    assert order("recent") == ["c4", "c3", "c2", "c1", "c0"]
    assert order("best_rated") == ["c3", "c1", "c2", "c4", "c0"]
    assert order("most_discussed") == ["c2", "c4", "c0", "c1", "c3"]
    assert order("nonsense") == order("older")
    assert order("older", page=2, per_page=2) == ["c2", "c3"]
    assert order("older", page=3, per_page=2) == ["c4"]
    assert order("older", page=99, per_page=2) == ["c4"]  # clamped to the last page
    thread = load_thread(None, board, per_page=2)
    assert (thread.total_top, thread.total, thread.pages) == (5, 8, 3)
    assert [n.comment.body for n in load_thread(None, board, sort="most_discussed").nodes[0].children] == ["r", "r"]


def test_hidden_comments_leave_the_thread(app, org, board, alice, bob):
    from decidim_py.moderation import services as moderation

    c = create_comment(alice, board, "Spam")
    keep = create_comment(alice, board, "Fine")
    for _ in range(3):
        moderation.report(make_user(org), c, "spam")
    thread = load_thread(None, board)
    assert [n.comment.id for n in thread.nodes] == [keep.id]
    assert thread.total == 1


# --- views ----------------------------------------------------------------------------------------


def test_page_shows_thread_and_post_redirects_to_anchor(app, client, board, alice, bob):
    r = client.get(board_url(board))
    assert r.status_code == 200 and "No comments yet." in r.text and "Sign in to comment." in r.text
    login_as(client, alice)
    r = client.get(board_url(board))
    assert 'name="body"' in r.text
    r = client.post(f"/comments/Component/{board.id}", data={"body": "<p>Hello</p>", "next": board_url(board)})
    assert r.status_code == 303
    c = db.session.scalar(select(Comment))
    db.session.commit()  # end the test's read transaction before the next requests write
    assert r.headers["Location"].endswith(f"{board_url(board)}#comment-{c.id}")
    r = client.post(f"/comments/Component/{board.id}",
                    data={"body": "Reply", "parent_id": c.id, "next": board_url(board)})
    assert r.status_code == 303
    r = client.get(board_url(board))
    assert f'id="comment-{c.id}"' in r.text and "Reply" in r.text
    login_as(client, bob)
    r = client.post(f"/comments/{c.id}/vote", data={"weight": "up", "next": board_url(board)})
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"#comment-{c.id}")
    db.session.expire_all()
    assert db.session.get(Comment, c.id).up_votes == 1


def test_views_refuse_and_reject(app, client, board, alice, bob):
    r = client.post(f"/comments/Component/{board.id}", data={"body": "x"})
    assert r.status_code == 403
    login_as(client, alice)
    r = client.post(f"/comments/Component/{board.id}", data={"body": ""})
    assert r.status_code == 422 and "There is a problem" in r.text
    r = client.post(f"/comments/Component/{board.id}", data={"body": "z" * 1001})
    assert r.status_code == 409
    r = client.post("/comments/Nothing/1", data={"body": "x"})
    assert r.status_code == 404
    r = client.post(f"/comments/Component/{board.id}", data={"body": "mine", "next": "https://evil.example/"})
    assert r.status_code == 303 and r.headers["Location"].startswith(board_url(board).rstrip("/")) or \
        r.headers["Location"].startswith(f"http://{client.host}{board_url(board)}")
    c = db.session.scalar(select(Comment))
    db.session.commit()
    login_as(client, bob)
    assert client.post(f"/comments/{c.id}/edit", data={"body": "hijack"}).status_code == 403
    assert client.post(f"/comments/{c.id}/delete").status_code == 403
    assert _count(Comment) == 1


def test_edit_and_delete_views(app, client, board, alice):
    c = create_comment(alice, board, "Before")
    db.session.commit()
    login_as(client, alice)
    r = client.get(f"/comments/{c.id}/edit?next={board_url(board)}")
    assert r.status_code == 200 and "Before" in r.text
    r = client.post(f"/comments/{c.id}/edit", data={"body": "After", "next": board_url(board)})
    assert r.status_code == 303
    r = client.get(board_url(board))
    assert "After" in r.text and "(edited)" in r.text
    r = client.post(f"/comments/{c.id}/delete", data={"next": board_url(board)})
    assert r.status_code == 303
    r = client.get(board_url(board))
    assert "This comment was deleted." in r.text and "After" not in r.text


def test_comment_on_another_organisation_is_404(app, client, board, alice):
    from decidim_py.testing import make_organization

    other = make_organization()
    stranger = make_user(other)
    db.session.commit()
    c = create_comment(alice, board, "Here")
    db.session.commit()
    other_client = app.test_client()
    other_client.host = other.host
    login_as(other_client, stranger)
    assert other_client.post(f"/comments/{c.id}/vote", data={"weight": "up"}).status_code == 404
    assert other_client.post(f"/comments/Component/{board.id}", data={"body": "x"}).status_code == 404


# --- 10,000 comments: the statements of a page do not grow -----------------------------------------


def test_ten_thousand_comments_render_in_a_bounded_number_of_statements(app, client, board, alice, bob):
    base = datetime(2030, 1, 1, tzinfo=UTC)
    rows, next_id = [], 1
    for i in range(10_000):
        is_top = i % 2 == 0
        rows.append({
            "id": next_id, "organization_id": board.organization_id, "component_id": board.id,
            "resource_type": "Component", "resource_id": board.id,
            "parent_id": None if is_top else next_id - 1, "root_id": None if is_top else next_id - 1,
            "depth": 0 if is_top else 1, "author_id": alice.id if is_top else bob.id, "body": f"comment {i}",
            "alignment": 0, "up_votes": i % 7, "down_votes": 0, "replies_count": 1 if is_top else 0,
            "created_at": base + timedelta(seconds=i), "updated_at": base,
        })
        next_id += 1
    db.session.execute(insert(Comment), rows)
    db.session.commit()
    engine = app.extensions["decidim_db"].engine
    login_as(client, bob)

    board_id, viewer_id = board.id, bob.id

    def statements(url):
        """Render the thread alone, as a page does, from a fresh session (nothing cached)."""
        from flask import render_template_string
        from flask_login import login_user

        from decidim_py.accounts.models import User
        from decidim_py.components import Component

        seen = []

        def listener(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        db.session.remove()
        with app.test_request_context(url, base_url=f"http://{client.host}"):
            resource, viewer = db.session.get(Component, board_id), db.session.get(User, viewer_id)
            login_user(viewer)
            event.listen(engine, "before_cursor_execute", listener)
            try:
                html = render_template_string("{% include 'comments/_thread.html' %}", resource=resource)
            finally:
                event.remove(engine, "before_cursor_execute", listener)
        return seen, html

    first, html1 = statements("/?comments_page=1")
    fiftieth, html50 = statements("/?comments_page=50")
    assert "comment 0" in html1 and "comment 1<" in html1
    assert "Page 50 of 250" in html50 and "comment 1960" in html50 and "comment 1961" in html50
    assert len(first) == len(fiftieth) <= 10, "\n".join(s[:150] for s in first + ["---"] + fiftieth)
    for sort in ("recent", "best_rated", "most_discussed"):
        assert len(statements(f"/?comments_page=50&comments_sort={sort}")[0]) == len(first)

    def request_statements(url):
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            r = client.get(url)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert r.status_code == 200
        return seen

    whole1 = request_statements(board_url(board) + "?comments_page=1")
    whole50 = request_statements(board_url(board) + "?comments_page=50")
    assert len(whole1) == len(whole50)


def test_reply_on_its_own_page_and_the_thread_nests_replies(app, client, board, alice, bob):
    """Each comment links to its reply page (no reply form under every comment); the reply page posts
    to the thread, keeps the page's query and returns to the new reply's anchor; replies nest in
    well-formed lists."""
    from html.parser import HTMLParser

    top = create_comment(alice, board, "Top")
    child = create_comment(bob, board, "Child", parent=top)
    deep = create_comment(alice, board, "Deep", parent=create_comment(alice, board, "Mid", parent=child))
    other = create_comment(bob, board, "Other")
    db.session.commit()
    here = f"{board_url(board)}?comments_sort=older"
    login_as(client, bob)
    page = client.get(here).text
    assert page.count('class="comment-form"') == 1 and "Your reply" not in page  # only the new-comment form
    assert f'href="/comments/{top.id}/reply?next=' in page and f'href="/comments/{deep.id}/reply' not in page
    assert page.count(f'action="/comments/{top.id}/vote"') == 1  # one vote form, two buttons
    assert f'action="/comments/{child.id}/vote"' not in page  # bob's own comment
    assert f'href="/moderation/report/Comment/{top.id}?next=' in page

    class Shape(HTMLParser):
        """Well-formed, and for each comment the comment whose <li> holds its <li>."""

        def __init__(self) -> None:
            super().__init__()
            self.stack: list[list[str]] = []  # [tag, comment id of an <li class="comment ...">]
            self.parent: dict[int, int | None] = {}

        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag == "article":
                ident = dict(attrs)["id"].removeprefix("comment-")
                self.stack[-1][1] = ident
                outer = [item for _tag, item in self.stack[:-1] if item]
                self.parent[int(ident)] = int(outer[-1]) if outer else None
            if tag not in ("input", "meta", "link", "br"):
                self.stack.append([tag, ""])

        def handle_endtag(self, tag: str) -> None:
            assert self.stack and self.stack[-1][0] == tag, (tag, self.stack[-4:])
            self.stack.pop()

    shape = Shape()
    shape.feed(page)
    assert shape.stack == []
    assert shape.parent == {top.id: None, child.id: top.id, deep.parent_id: child.id, deep.id: deep.parent_id,
                            other.id: None}
    assert page.index(f'id="comment-{top.id}"') < page.index(f'id="comment-{deep.id}"') < \
        page.index(f'id="comment-{other.id}"')

    reply_page = client.get(f"/comments/{top.id}/reply?next={here}")
    assert reply_page.status_code == 200 and reply_page.text.count("<h1") == 1
    assert "Top" in reply_page.text and f'name="parent_id" value="{top.id}"' in reply_page.text
    assert f'action="/comments/Component/{board.id}"' in reply_page.text
    r = client.post(f"/comments/Component/{board.id}",
                    data={"body": "My reply", "parent_id": top.id, "next": here, "alignment": 0})
    assert r.status_code == 303
    db.session.rollback()
    db.session.expire_all()
    new = db.session.scalar(select(Comment).where(Comment.body == "My reply"))
    assert new.parent_id == top.id and new.depth == 1
    assert r.headers["Location"].endswith(f"{here}#comment-{new.id}")

    too_deep = client.get(f"/comments/{deep.id}/reply?next={here}")
    assert too_deep.status_code == 409 and "cannot go deeper" in too_deep.text
    anonymous = app.test_client()
    anonymous.host = client.host
    assert anonymous.get(f"/comments/{top.id}/reply").status_code == 403
    assert "/reply?" not in anonymous.get(here).text
