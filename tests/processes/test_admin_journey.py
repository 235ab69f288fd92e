"""The issue's "done when": an admin creates a process with three phases, activates the second,
and sees both decisions in the admin log."""

from __future__ import annotations

from sqlalchemy import select

from decidim_py.db import db
from decidim_py.testing import login_as, make_admin
from decidim_py.transparency import DecisionRecord
from processes.models import Process


def test_admin_creates_process_with_three_phases_and_activates_the_second(app, org, client):
    admin = make_admin(org, "anna")
    db.session.commit()
    login_as(client, admin)

    r = client.post("/admin/processes/new", data={
        "title-en": "Budgets 2027", "title-ca": "Pressupostos 2027", "slug": "budgets-2027",
        "short_description-en": "Decide together", "description-en": "<p>Hi<script>x</script></p>",
        "start_date": "2027-01-01", "end_date": "2027-12-31", "host_id": "0", "group_id": "0",
    })
    assert r.status_code == 303, r.get_data(as_text=True)
    assert r.headers["Location"].endswith("/admin/processes/budgets-2027/steps")
    for title in ("Proposals", "Supports", "Voting"):
        r = client.post("/admin/processes/budgets-2027/steps/new", data={"title-en": title})
        assert r.status_code == 303

    process = db.session.scalar(select(Process).where(Process.slug == "budgets-2027"))
    assert [s.title["en"] for s in process.steps] == ["Proposals", "Supports", "Voting"]
    assert process.description["en"] == "<p>Hix</p>"  # sanitised on write
    assert [s.is_active for s in process.steps] == [True, False, False]
    second = process.steps[1]

    r = client.post(f"/admin/processes/budgets-2027/steps/{second.id}/activate",
                    data={"reason": "Proposals closed on time"})
    assert r.status_code == 303
    r = client.post("/admin/processes/budgets-2027/publish")
    assert r.status_code == 303

    db.session.rollback()  # end the test's read transaction to see what the requests committed
    process = db.session.scalar(select(Process).where(Process.slug == "budgets-2027"))
    assert [s.is_active for s in process.steps] == [False, True, False]

    actions = [r.action for r in db.session.scalars(
        select(DecisionRecord).where(DecisionRecord.organization_id == org.id)
        .order_by(DecisionRecord.id))]
    assert actions == ["processes.process.create", "processes.step.create", "processes.step.create",
                       "processes.step.create", "processes.step.activate", "processes.process.publish"]

    page = client.get("/admin/log")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "processes.process.create" in html and "processes.step.activate" in html
    assert "Proposals closed on time" in html
    assert "Anna" not in html or "@anna" in html

    public = client.get("/processes/budgets-2027").get_data(as_text=True)
    assert 'aria-current="step"' in public and "Supports" in public
