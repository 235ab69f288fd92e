"""Closing and editing a debate under real parallel transactions (PostgreSQL row locks)."""

from __future__ import annotations

import threading

import pytest

from debates import services as s
from debates.models import Debate
from decidim_py.accounts.models import User
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.testing import backend, make_user
from decidim_py.transparency import DecisionRecord
from tests.debates.conftest import make_component

pytestmark = pytest.mark.skipif(
    backend() != "postgresql",
    reason="row locks under real parallel transactions: run with DECIDIM_TEST_DB=postgresql")

TITLE, BODY = "Should the park open at night?", "Lights, safety and noise: what do you think?"


def test_an_edit_in_flight_waits_for_the_closing_and_is_refused(app, org):
    """The closing holds the debate's row; an edit that passed its permission check on the open
    debate waits for the closing to commit, then sees it closed: nothing lands after the closing."""
    c = make_component(org)
    author = make_user(org)
    debate_id = s.create_debate(author, c, s.DebateData(TITLE, BODY)).id
    db.session.commit()
    locked, edit_started, outcome = threading.Event(), threading.Event(), {}

    def close() -> None:
        with app.app_context():
            try:
                s.close_debate(db.session.get(User, author.id), db.session.get(Debate, debate_id), "Done.")
                locked.set()
                edit_started.wait(10)
                threading.Event().wait(0.5)  # the edit is now waiting on the row lock
                db.session.commit()
            finally:
                db.session.remove()

    def edit() -> None:
        with app.app_context():
            try:
                user, debate = db.session.get(User, author.id), db.session.get(Debate, debate_id)
                locked.wait(10)  # the debate was read as open, before the closing committed
                edit_started.set()
                s.update_debate(user, debate, s.DebateData("A title changed too late", BODY))
                db.session.commit()
                outcome["result"] = "edited"
            except InvalidState as exc:
                db.session.rollback()
                outcome["result"] = str(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=close), threading.Thread(target=edit)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert outcome["result"] == "This debate is closed: it cannot be edited any more."
    db.session.expire_all()
    debate = db.session.get(Debate, debate_id)
    assert debate.is_closed and debate.title == TITLE
    assert db.session.query(DecisionRecord).filter_by(action="debates.debate.update").count() == 0
