"""Public and admin pages as plain forms (no JavaScript): the ballot flow with its accessible
progress, the receipt shown once, closing through the admin page (the job runs after the request's
commit), results, the published file, receipt checks, imports with every bad line on the page."""

from __future__ import annotations

import hashlib
import io
import re

from sqlalchemy import select

from budgets.models import Ballot, Budget, BudgetResult
from decidim_py.db import db
from decidim_py.testing import login_as, make_admin, make_user
from decidim_py.transparency.models import DecisionRecord
from tests.budgets.conftest import make_budget, make_component


def _base(c) -> str:
    return f"/processes/{c.space.slug}/budgets/{c.id}"


def _admin(c) -> str:
    return f"/admin/processes/{c.space.slug}/components/budgets/{c.id}"


def _fresh() -> None:
    db.session.rollback()
    db.session.expire_all()


def test_ballot_flow_without_javascript(app, org, client, commit):
    c = make_component(org)
    budget = make_budget(c, 100_000, (60_000, 30_000, 50_000))
    p1, p2, p3 = budget.projects
    user = make_user(org)
    commit()
    anonymous = client.get(f"{_base(c)}/{budget.id}")
    assert anonymous.status_code == 200 and "Add to my ballot" not in anonymous.text
    login_as(client, user)
    index = client.get(f"{_base(c)}/")
    assert index.status_code == 200 and index.text.count("<h1") == 1
    assert "You can vote in one of these budgets" in index.text
    page = client.get(f"{_base(c)}/{budget.id}")
    assert page.text.count("<h1") == 1 and '<meter id="ballot-meter"' in page.text
    assert 'for="ballot-meter"' in page.text and "0,00 € of 1.000,00 € used" not in page.text
    assert "How the winning projects are chosen" in page.text and "Most votes first" in page.text
    assert client.post(f"{_base(c)}/{budget.id}/projects/{p1.id}/add").status_code == 303
    page = client.get(f"{_base(c)}/{budget.id}")
    assert "In your ballot." in page.text and 'value="60000"' in page.text
    assert re.search(r"600.00 of .*1,000.00 used", page.text), page.text[page.text.find("ballot-progress"):][:300]
    assert "To check out: Spend at least 70% of the budget." in page.text and "Check out: cast my vote" not in page.text
    too_much = client.post(f"{_base(c)}/{budget.id}/projects/{p3.id}/add")
    assert too_much.status_code == 409 and "does not fit" in too_much.text
    assert client.post(f"{_base(c)}/{budget.id}/projects/{p2.id}/add").status_code == 303
    assert "Check out: cast my vote" in client.get(f"{_base(c)}/{budget.id}").text
    voted = client.post(f"{_base(c)}/{budget.id}/checkout")
    assert voted.status_code == 200 and voted.text.count("<h1") == 1
    code = re.search(r'<code id="receipt-code">([0-9A-Z-]+)</code>', voted.text).group(1)
    _fresh()
    ballot = db.session.scalar(select(Ballot))
    assert ballot.checked_out_at is not None and ballot.receipt_sha256 == hashlib.sha256(
        code.replace("-", "").encode()).hexdigest()
    again = client.get(f"{_base(c)}/{budget.id}")
    assert code not in again.text and "You have voted in this budget." in again.text
    assert client.post(f"{_base(c)}/{budget.id}/checkout").status_code == 403  # not twice
    assert client.post(f"{_base(c)}/{budget.id}/cancel").status_code == 303
    _fresh()
    assert db.session.scalar(select(Ballot)) is None
    project = client.get(f"{_base(c)}/{budget.id}/projects/{p2.id}")
    assert project.status_code == 200 and "Add to my ballot" in project.text


def test_refusals_are_explained(app, org, client, commit):
    c = make_component(org, step={"votes": "finished"})
    budget = make_budget(c, 100_000, (60_000,))
    commit()
    login_as(client, make_user(org))
    assert "Voting has finished." in client.get(f"{_base(c)}/{budget.id}").text
    refused = client.post(f"{_base(c)}/{budget.id}/projects/{budget.projects[0].id}/add")
    assert refused.status_code == 403 and "Voting has finished." in refused.text


def test_settings_validation_on_the_component_page(app, org, client, commit):
    c = make_component(org)
    admin = make_admin(org)
    commit()
    login_as(client, admin)
    url = f"/admin/processes/{c.space.slug}/components/{c.id}/edit"
    assert client.get(url).status_code == 200
    data = {"name-en": "Budgets", "global-workflow": "one", "global-projects_per_page": "12",
            "global-vote_threshold_percent": "70", "global-vote_minimum_budget_projects_number": "1",
            "global-vote_selected_projects_minimum": "0", "global-vote_selected_projects_maximum": "1",
            "global-vote_rule_minimum_budget_projects_enabled": "y", "global-vote_rule_selected_projects_enabled": "y"}
    refused = client.post(url, data=data)
    assert refused.status_code == 409 and "Choose only one voting rule." in refused.text
    data.pop("global-vote_rule_selected_projects_enabled")
    assert client.post(url, data=data).status_code == 303
    _fresh()
    assert db.session.get(type(c), c.id).global_settings.vote_rule_minimum_budget_projects_enabled


def test_admin_creates_closes_and_publishes(app, org, client, commit):
    c = make_component(org, settings={"vote_rule_threshold_percent_enabled": False,
                                      "vote_rule_minimum_budget_projects_enabled": True})
    admin, voter = make_admin(org), make_user(org)
    commit()
    login_as(client, admin)
    form = client.get(f"{_admin(c)}/budgets/new")
    assert form.status_code == 200 and 'for="total_amount"' in form.text and 'for="title-en"' in form.text
    bad = client.post(f"{_admin(c)}/budgets/new", data={"title-en": "North", "total_amount": "12,5"})
    assert bad.status_code == 422 and "error-summary" in bad.text and "1500.50" in bad.text
    ok = client.post(f"{_admin(c)}/budgets/new", data={"title-en": "North", "total_amount": "1000", "weight": "0"})
    assert ok.status_code == 303
    _fresh()
    budget = db.session.scalar(select(Budget))
    assert budget.total_amount == 100_000
    for title, cost in (("Benches", "600"), ("Trees", "300.50")):
        assert client.post(f"{_admin(c)}/budgets/{budget.id}/projects/new",
                           data={"title-en": title, "cost": cost, "weight": "0"}).status_code == 303
    page = client.get(f"{_admin(c)}/budgets/{budget.id}")
    assert page.status_code == 200 and "Outcome rule" in page.text and "Voting is open" in page.text
    _fresh()
    budget = db.session.get(Budget, budget.id)
    _fresh()
    login_as(client, voter)
    client.post(f"{_base(c)}/{budget.id}/projects/{budget.projects[1].id}/add")
    code = re.search(r'<code id="receipt-code">([0-9A-Z-]+)</code>',
                     client.post(f"{_base(c)}/{budget.id}/checkout").text).group(1)
    _fresh()
    login_as(client, admin)
    closed = client.post(f"{_admin(c)}/budgets/{budget.id}/close")
    assert closed.status_code == 303 and closed.headers["Location"].endswith("/result")
    result_page = client.get(closed.headers["Location"])
    assert "The outcome is published." in result_page.text and "Refresh" not in result_page.headers
    _fresh()
    result = db.session.scalar(select(BudgetResult))
    outcome = db.session.scalars(select(DecisionRecord).where(DecisionRecord.action == "budgets.budget.outcome")).one()
    download = client.get(f"{_base(c)}/{budget.id}/ballots.pb")
    assert download.status_code == 200 and hashlib.sha256(download.data).hexdigest() == result.ballots_sha256
    assert outcome.changes["ballots_sha256"] == result.ballots_sha256
    _fresh()
    login_as(client, None)
    results = client.get(f"{_base(c)}/{budget.id}/results")
    assert results.status_code == 200 and results.text.count("<h1") == 1 and "Selected: with 1 votes" in results.text
    check = client.post(f"{_base(c)}/{budget.id}/receipt", data={"code": code.lower()})
    assert check.status_code == 200 and "Your ballot is in the published file" in check.text and "Trees" in check.text
    missing = client.post(f"{_base(c)}/{budget.id}/receipt", data={"code": "0000-1111"})
    assert "No ballot in the published file has this receipt" in missing.text
    assert client.post(f"{_base(c)}/{budget.id}/receipt", data={"code": ""}).status_code == 422
    _fresh()
    login_as(client, admin)
    csv = client.get(f"{_admin(c)}/results.csv")
    assert csv.status_code == 200 and "Trees" in csv.text and ";yes;" in csv.text
    assert client.get(f"{_admin(c)}/budgets/{budget.id}/results.json").json["ballots_sha256"] == result.ballots_sha256


def test_ballots_file_and_results_are_not_public_before_closing(app, org, client, commit):
    c = make_component(org)
    budget = make_budget(c, 100_000, (60_000,))
    commit()
    assert client.get(f"{_base(c)}/{budget.id}/ballots.pb").status_code == 404
    assert client.get(f"{_base(c)}/{budget.id}/results").status_code == 404
    login_as(client, make_user(org))
    assert client.get(f"{_admin(c)}/").status_code == 403


def test_import_page_lists_every_bad_line(app, org, client, commit):
    c = make_component(org)
    budget = make_budget(c, 100_000)
    admin = make_admin(org)
    commit()
    login_as(client, admin)
    text = ("META\nkey;value\nbudget;1000\nvote_type;approval\nPROJECTS\nproject_id;cost\n1;-5\n2;x\n"
            "VOTES\nvoter_id;vote\na;3\n")
    page = client.post(f"{_admin(c)}/budgets/{budget.id}/import-ballots",
                       data={"file": (io.BytesIO(text.encode()), "ballots.pb")}, content_type="multipart/form-data")
    assert page.status_code == 422 and "error-summary" in page.text
    for line in ("<td>7</td>", "<td>8</td>", "<td>11</td>"):
        assert line in page.text
    good = text.replace("1;-5", "1;500").replace("2;x", "2;400").replace("a;3", "a;1")
    ok = client.post(f"{_admin(c)}/budgets/{budget.id}/import-ballots",
                     data={"file": (io.BytesIO(good.encode()), "ballots.pb")}, content_type="multipart/form-data")
    assert ok.status_code == 303
    _fresh()
    assert db.session.get(Budget, budget.id).ballots_count == 1


def test_residents_comment_on_a_project_unless_comments_are_blocked(app, org, client, commit):
    from decidim_py.comments.models import Comment

    c = make_component(org)
    budget = make_budget(c, 100_000, (60_000,))
    blocked = make_component(org, step={"comments_blocked": True})
    other = make_budget(blocked, 100_000, (60_000,))
    commit()
    url = f"{_base(c)}/{budget.id}/projects/{budget.projects[0].id}"
    assert '<section id="comments"' in client.get(url).text
    login_as(client, make_user(org))
    form = client.get(url).text
    action = form.split('class="comment-form"', 1)[0].rsplit('action="', 1)[1].split('"', 1)[0]
    assert client.post(action, data={"body": "Benches near the fountain, please."}).status_code == 303
    _fresh()
    comment = db.session.scalar(select(Comment))
    assert comment.resource_type == "Project" and comment.resource_id == budget.projects[0].id
    closed = client.get(f"{_base(blocked)}/{other.id}/projects/{other.projects[0].id}").text
    assert 'class="comment-form"' not in closed


def test_random_order_never_overflows(app, org, client, commit):
    """(id × seed) is computed in 64 bits: a seed near 2^31 would overflow PostgreSQL's integer."""
    c = make_component(org)
    budget = make_budget(c, 100_000, (60_000, 30_000, 50_000))
    commit()
    with client.session_transaction(base_url=f"http://{client.host}") as sess:
        sess["budgets_seed"] = 2_147_483_000
    page = client.get(f"{_base(c)}/{budget.id}?order=random")
    assert page.status_code == 200 and page.text.count('class="card project-card"') == 3
