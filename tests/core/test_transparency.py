from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from decidim_py.db import db
from decidim_py.testing import login_as, make_admin, make_process
from decidim_py.transparency import DecisionRecord, Visibility, record


def test_record_writes_actor_role_action_resource_and_changes(app, org):
    admin = make_admin(org, "rita")
    process = make_process(org)
    entry = record(admin, "processes.process.update", process, space=process,
                   changes={"is_promoted": {"from": False, "to": True}}, reason="Front page")
    db.session.commit()
    stored = db.session.get(DecisionRecord, entry.id)
    assert stored.actor_id == admin.id and stored.actor_role == "organization_admin"
    assert (stored.resource_type, stored.resource_id) == ("Process", process.id)
    assert (stored.space_type, stored.space_id) == ("processes", process.id)
    assert stored.visibility == Visibility.PUBLIC and stored.reason == "Front page"
    assert stored.changes == {"is_promoted": {"from": False, "to": True}}


@pytest.mark.parametrize("statement", [
    "UPDATE transparency_records SET action = 'rewritten'",
    "DELETE FROM transparency_records",
])
def test_the_record_is_append_only_in_the_database(app, org, statement):
    make_process(org)
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert db.session.scalar(select(DecisionRecord.action).limit(1)) != "rewritten"


def test_a_refused_request_stores_neither_the_change_nor_its_record(app, org, client):
    """The decision and its record are committed together or not at all."""
    admin = make_admin(org)
    process = make_process(org, steps=2)
    db.session.commit()
    from sqlalchemy import func

    before = db.session.scalar(select(func.count()).select_from(DecisionRecord))
    login_as(client, admin)
    # publishing an already published process: InvalidState after the permission check → 409
    r = client.post(f"/admin/processes/{process.slug}/publish")
    assert r.status_code == 409
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(DecisionRecord)) == before


def test_an_unregistered_kind_is_refused(app, org):
    with pytest.raises(LookupError, match="no registered schema"):
        record(make_admin(org), "processes.process.teleport", org, organization_id=org.id)
