"""Pabulib import problems in the reader's language: every code the parser can emit has a translated
sentence (budgets.pabulib_messages), each renders with the params the parser gives it, and an admin
reading in Catalan gets the import page's problems from the catalog (the Catalan text once the
catalogs have these strings), never the parser's English."""

from __future__ import annotations

import io
import re
from html import escape
from pathlib import Path

import pytest
from flask_babel import force_locale

from budgets import closing
from budgets.outcomes import pabulib
from budgets.pabulib_messages import MESSAGES, issue_message
from decidim_py.db import db
from decidim_py.testing import login_as, make_admin
from tests.budgets.conftest import make_budget, make_component

ROOT = Path(__file__).resolve().parents[2]

# Between them, these files make the parser emit every code it has.
BAD_FILES = [
    # text before META, a META key twice, bad numbers and JSON, counts that disagree; project rows: a
    # missing id, a bad cost, an id twice; votes: unknown project, a project twice, points problems
    """hello
META
key;value
budget;1x
vote_type;scoring
min_length;a
max_sum_cost;500
min_points;1
max_points;3
min_sum_points;2
max_sum_points;5
rule_params;[1]
tie_breaking;{
num_projects;7
num_votes;9
description;a
description;b
PROJECTS
project_id;cost;name
a;100;A
;100;B
b;300;C
c;zero;D
a;100;A again
VOTES
voter_id;vote;points
1;a,b;1,9
2;a,a;0,1
3;a;
4;a,b;1
5;a;x
6;zz;1
7;a,b;4,4
7;a;0
8;a,b
""",
    # no budget, no vote_type, a header without its columns and repeating one, a section twice
    "META\nkey;key\nPROJECTS\nproject_id;cost\na;1\nPROJECTS\nid;id\n",
    # an unknown vote type, the VOTES section missing
    "META\nkey;value\nbudget;10\nvote_type;weird\nPROJECTS\nproject_id;cost\na;1\n",
    # choose-1 naming two projects
    "META\nkey;value\nbudget;10\nvote_type;choose-1\nPROJECTS\nproject_id;cost\na;1\nb;2\nVOTES\nvoter_id;vote\n1;a,b\n",
    # length limits and max_sum_cost
    ("META\nkey;value\nbudget;10\nvote_type;approval\nmin_length;2\nmax_length;2\nmax_sum_cost;2.5\n"
     "PROJECTS\nproject_id;cost\na;1\nb;2\nc;3\nVOTES\nvoter_id;vote\n1;a\n2;a,b,c\n3;b,c\n"),
    # a cumulative vote without its points column
    "META\nkey;value\nbudget;10\nvote_type;cumulative\nPROJECTS\nproject_id;cost\na;1\nVOTES\nvoter_id;vote\n1;a\n",
]


def _issues() -> list[pabulib.Issue]:
    out = []
    for text in BAD_FILES:
        with pytest.raises(pabulib.PabulibError) as info:
            pabulib.parse(text)
        assert [(i.line, i.message) for i in info.value.issues] == info.value.errors  # the same problems
        out.extend(info.value.issues)
    return out


def test_every_code_the_parser_can_emit_has_a_translated_message() -> None:
    source = (ROOT / "budgets" / "outcomes" / "pabulib.py").read_text(encoding="utf-8")
    emitted = set(re.findall(r'_issue\(.*?, "([a-z_0-9]+)"', source))
    assert len(emitted) >= 30
    assert emitted == set(pabulib.MESSAGES) == set(MESSAGES)
    assert {i.code for i in _issues()} == emitted  # and the files above make each of them happen


def test_every_problem_renders_with_its_params(app) -> None:
    with app.test_request_context("/"):
        for issue in _issues():
            text = issue_message(issue.code, issue.params)  # a missing placeholder would raise KeyError
            assert text and text != issue.message
            for value in issue.params.values():
                assert str(value) in text, (issue, text)


def test_a_catalan_admin_reads_the_problems_from_the_catalog(app, org, client, commit) -> None:
    c = make_component(org)
    budget = make_budget(c, 100_000)
    admin = make_admin(org)
    admin.locale = "ca"
    commit()
    login_as(client, admin)
    text = BAD_FILES[0]
    with pytest.raises(pabulib.PabulibError) as info:
        pabulib.parse(text)
    page = client.post(f"/admin/processes/{c.space.slug}/components/budgets/{c.id}/budgets/{budget.id}/import-ballots",
                       data={"file": (io.BytesIO(text.encode()), "ballots.pb")}, content_type="multipart/form-data")
    assert page.status_code == 422
    assert '<html lang="ca">' in page.text and "Línia" in page.text  # the page is in Catalan
    with app.test_request_context("/"), force_locale("ca"):
        expected = [(i.line, issue_message(i.code, i.params)) for i in info.value.issues]
    rows = re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>", page.text)
    assert rows == [(str(n), escape(m, quote=True)) for n, m in expected]  # every problem, in order
    assert not {escape(i.message, quote=True) for i in info.value.issues} & {m for _n, m in rows}  # not the parser's
    db.session.rollback()


def test_import_problems_carry_the_translated_sentences(app, org) -> None:
    c = make_component(org)
    budget = make_budget(c, 100_000)
    with pytest.raises(closing.ImportProblems) as exc:
        closing.import_ballots(make_admin(org), budget, BAD_FILES[1])
    assert ("The PROJECTS header repeats a column." in [m for _n, m in exc.value.errors])
    assert all(m[0].isupper() and m.endswith(".") for _n, m in exc.value.errors)
