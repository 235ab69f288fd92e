"""Admin import (CSV and JSON: every bad row reported with its line, nothing written when one is
bad; imported proposals official and recorded) and export (CSV, JSON), with a round trip."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed
from decidim_py.testing import login_as, make_admin, make_user
from decidim_py.transparency import DecisionRecord, Visibility
from proposals import evaluation as ev
from proposals import importing as imp
from proposals import services as s
from proposals.admin import export_rows
from proposals.models import Proposal, ProposalState
from tests.proposals.conftest import make_component

BODY = "Shade in summer and a nicer walk for everyone."


def _count(c) -> int:
    return db.session.scalar(select(func.count()).select_from(Proposal).where(Proposal.component_id == c.id))


def _records(action):
    return list(db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == action)
                                   .order_by(DecisionRecord.id)))


def _csv(rows, delimiter=";"):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerows(rows)
    return out.getvalue().encode()


def test_csv_import_writes_official_proposals_with_answers_and_records(app, org):
    c = make_component(org, step={"publish_answers_immediately": True})
    admin = make_admin(org)
    data = _csv([["title", "body", "state", "answer", "cost"],
                 ["Plant more trees in the central park", BODY, "", "", ""],
                 ["More bicycle lanes downtown please", BODY, "accepted", "Yes, in 2027.", "3000"],
                 ["Close the main street to cars", BODY, "rejected", "Not this year.", ""]])
    result = imp.import_proposals(admin, c, data, "csv")
    assert (result.imported, result.skipped) == (3, 0)
    proposals = list(db.session.scalars(select(Proposal).where(Proposal.component_id == c.id).order_by(Proposal.id)))
    assert all(p.is_official and p.author_id is None and p.published_at and p.reference for p in proposals)
    assert [p.state for p in proposals] == [None, "accepted", "rejected"]  # published at once (the phase)
    assert proposals[1].cost == 3000 and proposals[2].answer == "Not this year."
    assert len(_records("proposals.proposal.publish")) == 3
    answers = _records("proposals.proposal.answer")
    assert len(answers) == 2 and all(r.visibility == Visibility.PUBLIC for r in answers)
    (summary,) = _records("proposals.proposal.import")
    assert summary.resource_type == "Component" and summary.changes["imported"] == 3
    assert summary.changes["format"] == "csv" and len(summary.changes["file_sha256"]) == 64


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(app, org):
    c = make_component(org, settings={"answers_with_costs": True})
    admin = make_admin(org)
    data = _csv([["title", "body", "state", "answer", "cost"],
                 ["Plant more trees in the central park", BODY, "", "", ""],   # line 2: fine
                 ["Short", BODY, "", "", ""],                                  # line 3: title
                 ["More bicycle lanes downtown please", BODY, "rejected", "", ""],  # line 4: no answer
                 ["Close the main street to cars", "tiny", "maybe", "", "x"],  # line 5: three problems
                 ["Benches along the river walk", BODY, "accepted", "Yes", ""]],  # line 6: cost required
                delimiter=",")
    with pytest.raises(imp.ImportInvalid) as caught:
        imp.import_proposals(admin, c, data, "csv")
    errors = {e.line: e.messages for e in caught.value.errors}
    assert sorted(errors) == [3, 4, 5, 6]
    assert "title" in errors[3][0] and "why" in errors[4][0]
    assert len(errors[5]) == 3 and "Line 5:" in str(caught.value.errors[2])
    assert "cost" in errors[6][0]
    assert _count(c) == 0 and not _records("proposals.proposal.import")


def test_csv_lines_count_multiline_cells_and_the_header_is_checked(app, org):
    c = make_component(org)
    admin = make_admin(org)
    data = _csv([["title", "body"], ["Plant more trees in the central park", "First line\nsecond line of it"],
                 ["Short", BODY]])
    with pytest.raises(imp.ImportInvalid) as caught:
        imp.import_proposals(admin, c, data, "csv")
    assert [e.line for e in caught.value.errors] == [4]  # the quoted body spans lines 2 and 3
    with pytest.raises(imp.ImportInvalid) as caught:
        imp.import_proposals(admin, c, _csv([["name", "text"], ["a", "b"]]), "csv")
    assert caught.value.errors[0].line == 1 and "title, body" in caught.value.errors[0].messages[0]
    with pytest.raises(imp.ImportInvalid):
        imp.import_proposals(admin, c, "title;body\n\xff".encode("latin-1"), "csv")
    with pytest.raises(InvalidState):
        imp.import_proposals(admin, c, b"title;body\n", "csv")  # no proposals


def test_json_rows_are_reported_by_line(app, org):
    c = make_component(org)
    admin = make_admin(org)
    body = json.dumps(BODY)
    data = ('[\n{"title": "Plant more trees in the central park", "body": ' + body + '},\n'
            '{"title": "Short", "body": ' + body + '},\n'
            '{"title": "Close the main street to cars",\n "body": "tiny"}\n]\n').encode()
    with pytest.raises(imp.ImportInvalid) as caught:
        imp.import_proposals(admin, c, data, "json")
    assert [e.line for e in caught.value.errors] == [3, 4]
    with pytest.raises(imp.ImportInvalid) as caught:
        imp.import_proposals(admin, c, b'[\n{"title": "x",\n "body": }\n]', "json")
    assert caught.value.errors[0].line == 3  # where the syntax error is
    for bad in (b'{"title": "x"}', b'[1, 2]', b'[{"title": "a"} {"title": "b"}]', b'[{"title": "a"}] x'):
        with pytest.raises(imp.ImportInvalid):
            imp.import_proposals(admin, c, bad, "json")
    assert _count(c) == 0


def test_only_admins_of_the_space_import(app, org):
    c = make_component(org)
    from decidim_py.accounts.models import SpaceRoleName
    from decidim_py.accounts.roles import grant_space_role
    from decidim_py.accounts.system import SystemActor

    evaluator = make_user(org)
    grant_space_role(SystemActor(org.id), c.space, evaluator, SpaceRoleName.EVALUATOR)
    data = _csv([["title", "body"], ["Plant more trees in the central park", BODY]])
    for who in (make_user(org), evaluator, None):
        with pytest.raises(NotAllowed):
            imp.import_proposals(who, c, data, "csv")
    assert _count(c) == 0 and not _records("proposals.proposal.import")


def _seed_source(org):
    source = make_component(org, step={"publish_answers_immediately": False})
    author, admin = make_user(org), make_admin(org)
    made = []
    for title, body in [("Plant more trees in the central park", BODY),
                        ("More bicycle lanes downtown please", "- a list item\n- =SUM(A1) is not a formula"),
                        ("Close the main street to cars", "On Sundays, with \"quotes\"; and semicolons, commas."),
                        ("Withdrawn idea about the market", BODY)]:
        made.append(s.publish_proposal(author, s.create_proposal(author, source, s.ProposalData(title, body))))
    s.answer_proposal(admin, made[0], "accepted", "Yes.")
    s.publish_answers(admin, source)
    s.answer_proposal(admin, made[1], "rejected", "No budget.")  # not published
    s.withdraw_proposal(author, made[3])
    ev.add_note(admin, made[0], "PRIVATE NOTE never exported")
    return source, admin, made


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_round_trip_export_then_import_into_another_component(app, org, client, commit, fmt):
    source, admin, made = _seed_source(org)
    target = make_component(org, process=source.space)
    commit()
    login_as(client, admin)
    base = lambda c: f"/admin/processes/{c.space.slug}/components/proposals/{c.id}"  # noqa: E731
    exported = client.get(f"{base(source)}/export.{fmt}")
    assert exported.status_code == 200 and "PRIVATE NOTE" not in exported.text
    if fmt == "json":
        assert exported.mimetype == "application/json" and len(json.loads(exported.text)) == 4
    page = client.get(f"{base(target)}/import")
    assert page.status_code == 200 and page.text.count("<h1") == 1 and 'enctype="multipart/form-data"' in page.text
    done = client.post(f"{base(target)}/import", data={
        "format": fmt, "file": (io.BytesIO(exported.data), f"proposals.{fmt}")}, content_type="multipart/form-data")
    assert done.status_code == 303, done.text
    db.session.rollback()
    db.session.expire_all()

    def summary(c):
        return [(p.title, p.body, str(p.internal_state), p.answer, p.is_answer_published)
                for p in db.session.scalars(select(Proposal).where(
                    Proposal.component_id == c.id, Proposal.withdrawn_at.is_(None)).order_by(Proposal.title))]

    assert summary(target) == summary(source)
    assert _count(target) == 3  # the withdrawn one is skipped
    assert all(p.is_official for p in db.session.scalars(select(Proposal).where(Proposal.component_id == target.id)))
    assert ev.notes_of(db.session.scalar(select(Proposal).where(
        Proposal.component_id == target.id, Proposal.internal_state == ProposalState.ACCEPTED))) == []


def test_import_page_reports_every_problem_and_writes_nothing(app, org, client, commit):
    c = make_component(org)
    admin = make_admin(org)
    commit()
    login_as(client, admin)
    url = f"/admin/processes/{c.space.slug}/components/proposals/{c.id}/import"
    data = _csv([["title", "body"], ["Short", BODY], ["Plant more trees in the central park", BODY], ["", ""],
                 ["Also short", "tiny"]])
    r = client.post(url, data={"format": "csv", "file": (io.BytesIO(data), "p.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "error-summary" in r.text
    assert "Line 2:" in r.text and "Line 5:" in r.text and "Nothing was imported" in r.text
    missing = client.post(url, data={"format": "csv"}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "Please choose a file." in missing.text
    db.session.rollback()
    assert _count(c) == 0
    login_as(client, make_user(org))
    assert client.get(url).status_code == 403


def test_export_rows_hold_no_private_data(app, org):
    source, _admin, _made = _seed_source(org)
    rows = export_rows(source)
    text = imp.export_json(rows)
    assert "PRIVATE NOTE" not in text and text.count("\n") == len(rows) + 2  # one proposal per line
    assert json.loads(text)[0]["state_published_at"] is not None and json.loads(text)[1]["cost"] is None
