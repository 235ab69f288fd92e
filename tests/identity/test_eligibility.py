"""Eligibility facts, requirements per action, one person one voice, conflicts and transfers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from decidim_py.accounts.system import SystemActor
from decidim_py.components import add_component, publish_component
from decidim_py.db import db, utcnow
from decidim_py.errors import InvalidState
from decidim_py.identity import keys, rp
from decidim_py.identity.eligibility import RequirementData, set_requirement
from decidim_py.identity.models import (
    Assurance,
    ConflictState,
    EligibilityGrant,
    PersonConflict,
    PersonKeyKind,
    PersonVerification,
)
from decidim_py.identity.services import apply_facts, derive_facts, save_residence, transfer_conflict
from decidim_py.permissions import NotAllowed, can
from decidim_py.testing import login_as, make_admin, make_process, make_user
from decidim_py.transparency import DecisionRecord


class _Provider:
    id = None
    claim_map: dict = {}
    eligibility_days = 90


def _verified(level="substantial", **claims):
    return rp.VerifiedSignIn(issuer="https://idp.example", subject=claims.pop("sub", "s1"), claims=claims,
                             level=Assurance(level), sid=None, auth_time=None)


@pytest.fixture
def city(app, org):
    save_residence(SystemActor(org.id), org, ["08001", "08002"],
                   {"gracia": {"name": {"en": "Gràcia"}, "postal_codes": ["08012", "08024"]}})
    return org


def test_derived_facts_keep_no_postal_code_birth_date_or_identifier(app, city):
    facts = derive_facts(city, _Provider(), _verified(address={"postal_code": "08012"}, birthdate="2000-02-29",
                                                      national_id="12.345.678-z"), {21})
    assert facts["is_resident"] is True and facts["zone"] == "gracia"
    assert facts["age_from"] == {"16": "2016-02-29", "18": "2018-03-01", "21": "2021-03-01"}
    assert facts["person_kind"] == "national_id"
    assert facts["person_key"] == keys.person_key(city.id, "12345678Z", kind="national_id")
    text = repr(facts)
    assert "08012" not in text and "2000-02-29" not in text and "12345678" not in text


def test_low_assurance_gets_only_a_subject_person_key(app, city):
    facts = derive_facts(city, _Provider(), _verified("low", address={"postal_code": "28001"},
                                                      national_id="12345678Z"))
    assert facts["is_resident"] is False and facts["zone"] is None
    assert facts["person_kind"] == "subject"


def test_person_keys_and_identity_keys_are_per_organisation(app):
    assert keys.person_key(1, "X1", kind="national_id") != keys.person_key(2, "X1", kind="national_id")
    assert keys.identity_key(1, "https://i", "s") != keys.identity_key(2, "https://i", "s")
    assert keys.identity_key(1, "https://i", "s") == keys.identity_key(1, "https://i", "s")


@pytest.fixture
def board(app, city):
    system = SystemActor(city.id)
    process = make_process(city, steps=1)
    component = add_component(system, process, "noticeboard", {"en": "Board"})
    from decidim_py.components import update_component

    update_component(system, component, step_values={process.steps[0].id: {"posting_enabled": True}})
    publish_component(system, component)
    return component


def _grant(user, **kw):
    values = {"level": Assurance.SUBSTANTIAL, "is_resident": True, "zone": "gracia",
              "age_from": {"16": "2000-01-01"}, "expires_at": utcnow() + timedelta(days=30)}
    values.update(kw)
    db.session.add(EligibilityGrant(user_id=user.id, **values))
    db.session.flush()


def test_requirement_refusals_say_why_and_what_to_do(app, city, board):
    admin = make_admin(city)
    set_requirement(admin, board, "create", RequirementData(level=Assurance.SUBSTANTIAL, resident=True,
                                                            zone="gracia", min_age=16))
    entry = db.session.scalar(select(DecisionRecord).where(DecisionRecord.action == "eligibility.requirement.update"))
    assert entry.changes["to"]["min_age"] == 16

    def verdict(user):
        if user is not None:
            user.__dict__.pop("_decidim_grant", None)
        return can(user, "noticeboard.notice.create", board)

    assert verdict(None).code == "sign_in"
    nobody = make_user(city)
    assert verdict(nobody).code == "verify"
    expired = make_user(city)
    _grant(expired, expires_at=utcnow() - timedelta(seconds=1))
    assert verdict(expired).code == "expired"
    weak = make_user(city)
    _grant(weak, level=Assurance.LOW)
    assert verdict(weak).code == "step_up"
    outsider = make_user(city)
    _grant(outsider, is_resident=False, zone=None)
    assert verdict(outsider).code == "not_eligible"
    other_zone = make_user(city)
    _grant(other_zone, zone="sants")
    assert verdict(other_zone).code == "not_eligible"
    minor = make_user(city)
    _grant(minor, age_from={"16": (date.today() + timedelta(days=3)).isoformat()})
    v = verdict(minor)
    assert v.code == "not_eligible" and "16" in str(v.reason)
    ok = make_user(city)
    _grant(ok)
    assert verdict(ok)


def test_one_person_one_voice_second_account_gets_a_conflict(app, city, board):
    admin = make_admin(city)
    set_requirement(admin, board, "create", RequirementData(person_key=True))
    first, second = make_user(city, "first"), make_user(city, "second")
    facts = derive_facts(city, _Provider(), _verified(national_id="12345678Z", address={"postal_code": "08001"}))
    assert apply_facts(first, None, facts) is None
    conflict = apply_facts(second, None, facts)
    assert conflict is not None and conflict.verification.user_id == first.id
    assert can(first, "noticeboard.notice.create", board)
    v = can(second, "noticeboard.notice.create", board)
    assert not v and v.code == "person_conflict"
    assert apply_facts(second, None, facts).id == conflict.id  # no duplicate conflict
    assert db.session.scalar(select(DecisionRecord.action).where(DecisionRecord.action == "identity.conflict.open"))

    with pytest.raises(NotAllowed):
        transfer_conflict(make_user(city), conflict, "asked")
    with pytest.raises(InvalidState):
        transfer_conflict(admin, conflict, " ")
    transfer_conflict(admin, conflict, "Lost access to the first account")
    for u in (first, second):
        u.__dict__.pop("_decidim_grant", None)
    assert conflict.state == ConflictState.TRANSFERRED
    assert can(second, "noticeboard.notice.create", board)
    assert not can(first, "noticeboard.notice.create", board)
    entry = db.session.scalar(select(DecisionRecord).where(DecisionRecord.action == "identity.conflict.transfer"))
    assert entry.reason == "Lost access to the first account"


def test_the_database_refuses_two_active_accounts_for_one_person(app, city):
    a, b = make_user(city), make_user(city)
    for user in (a, b):
        db.session.add(PersonVerification(organization_id=city.id, person_key="k" * 64, kind=PersonKeyKind.NATIONAL_ID,
                                          user_id=user.id, level=Assurance.SUBSTANTIAL))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_low_assurance_person_key_only_where_the_admin_allows_it(app, city, board):
    admin = make_admin(city)
    user = make_user(city)
    apply_facts(user, None, derive_facts(city, _Provider(), _verified("low")))
    set_requirement(admin, board, "create", RequirementData(person_key=True))
    assert can(user, "noticeboard.notice.create", board).code == "step_up"
    set_requirement(admin, board, "create", RequirementData(person_key=True, allow_low_assurance_person_key=True))
    user.__dict__.pop("_decidim_grant", None)
    assert can(user, "noticeboard.notice.create", board)


def test_requirements_admin_page(app, city, board, client):
    admin = make_admin(city)
    db.session.commit()
    login_as(client, admin)
    url = f"/admin/processes/{board.space.slug}/components/{board.id}/permissions"
    html = client.get(url).get_data(as_text=True)
    assert 'name="create-level"' in html and 'name="create-min_age"' in html
    r = client.post(url, data={"create-level": "high", "create-min_age": "500", "create-zone": ""})
    assert r.status_code == 422
    r = client.post(url, data={"create-level": "high", "create-min_age": "18", "create-zone": "gracia",
                               "create-resident": "y"})
    assert r.status_code == 303
    db.session.rollback()
    from decidim_py.identity.models import ActionRequirement

    req = db.session.scalar(select(ActionRequirement))
    assert (req.level, req.min_age, req.zone, req.resident) == (Assurance.HIGH, 18, "gracia", True)
    assert db.session.scalar(select(func.count()).select_from(PersonConflict)) == 0
