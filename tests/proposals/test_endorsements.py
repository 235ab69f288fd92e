"""Endorsements: as a person (one per person key) or on behalf of a host (one per host), the
settings that open them, the proposals they are refused on, the endorsers list, the "most endorsed"
sort, the pages, and an exact counter under 50 parallel requests (PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from decidim_py.accounts.models import HostMembership, HostRole
from decidim_py.db import db, get_engine, utcnow
from decidim_py.errors import InvalidState
from decidim_py.identity.models import ActionRequirement, Assurance
from decidim_py.permissions import NotAllowed, can
from decidim_py.testing import backend, login_as, make_admin, make_host, make_user, race
from decidim_py.transparency import DecisionRecord
from proposals import services as s
from proposals.endorsements import endorse_proposal, endorsers, unendorse_proposal
from proposals.models import Proposal, ProposalEndorsement
from proposals.queries import Filters, available_sorts, list_proposals
from tests.proposals.conftest import make_component, verify_person

TITLE, BODY = "Plant more trees in the park", "Shade in summer and a nicer walk for everyone."
OPEN = {"endorsements_enabled": True}


def _published(component, author=None, title=TITLE):
    from decidim_py.tenancy import Organization

    author = author or make_user(db.session.get(Organization, component.organization_id))
    return s.publish_proposal(author, s.create_proposal(author, component, s.ProposalData(title, BODY)))


def _rows() -> int:
    return db.session.scalar(select(func.count()).select_from(ProposalEndorsement))


def _count(proposal) -> int:
    db.session.expire(proposal, ["endorsements_count"])
    return proposal.endorsements_count


def _member(org, host, role=HostRole.MEMBER):
    user = make_user(org)
    db.session.add(HostMembership(host=host, user=user, role=role))
    db.session.flush()
    return user


@pytest.fixture
def scene(app, org):
    """An open component, a published proposal and a participant."""
    c = make_component(org, step=OPEN)
    return c, _published(c), make_user(org)


# --- as a person ------------------------------------------------------------------------------


def test_endorse_and_withdraw_as_a_person_keeps_the_counter_and_records_nothing(app, org):
    c = make_component(org, step=OPEN)
    p = _published(c)
    records_before = db.session.scalar(select(func.count()).select_from(DecisionRecord))
    user = make_user(org)
    row = endorse_proposal(user, p, show_name=True)
    assert row.person_key == f"user:{user.id}" and row.host_id is None and row.show_name
    assert _count(p) == 1 and _rows() == 1
    with pytest.raises(InvalidState, match="already endorse"):
        endorse_proposal(user, p)
    assert _count(p) == 1 and _rows() == 1
    unendorse_proposal(user, p)
    assert _count(p) == 0 and _rows() == 0
    with pytest.raises(InvalidState, match="do not endorse"):
        unendorse_proposal(user, p)
    # a participant's act, not a decision: the public record did not grow
    assert db.session.scalar(select(func.count()).select_from(DecisionRecord)) == records_before


@pytest.mark.parametrize(("settings", "step", "code"), [
    ({"endorsements_enabled": False}, OPEN, "phase_closed"),
    ({}, {"endorsements_enabled": False}, "phase_closed"),
    ({}, {**OPEN, "endorsements_blocked": True}, "blocked"),
])
def test_settings_close_endorsements_and_nothing_is_written(app, org, settings, step, code):
    c = make_component(org, settings=settings, step=step)
    p = _published(c)
    user = make_user(org)
    with pytest.raises(NotAllowed) as info:
        endorse_proposal(user, p)
    assert info.value.verdict.code == code
    with pytest.raises(NotAllowed):
        unendorse_proposal(user, p)
    assert _rows() == 0 and _count(p) == 0


def test_blocked_endorsements_cannot_be_withdrawn_either(org, scene):
    c, p, user = scene
    endorse_proposal(user, p)
    from decidim_py.accounts.system import SystemActor
    from decidim_py.components import update_component

    update_component(SystemActor(org.id), c, step_values={c.space.steps[0].id: {**OPEN, "endorsements_blocked": True,
                                                                                "creation_enabled": True}})
    with pytest.raises(NotAllowed) as info:
        unendorse_proposal(user, p)
    assert info.value.verdict.code == "blocked" and _rows() == 1


def test_anonymous_cannot_endorse(app, org):
    c = make_component(org, step=OPEN)
    p = _published(c)
    with pytest.raises(NotAllowed) as info:
        endorse_proposal(None, p)
    assert info.value.verdict.code == "sign_in" and _rows() == 0


def test_refused_on_withdrawn_hidden_rejected_and_draft_proposals(app, org):
    c = make_component(org, step=OPEN)
    admin, user = make_admin(org), make_user(org)
    withdrawn = _published(c, title="A proposal that is withdrawn")
    s.withdraw_proposal(withdrawn.author, withdrawn)
    hidden = _published(c, title="A proposal that gets hidden")
    s.hide_proposal(admin, hidden, "Spam")
    rejected = _published(c, title="A proposal that gets rejected")
    s.answer_proposal(admin, rejected, "rejected", "Not possible.")
    author = make_user(org)
    draft = s.create_proposal(author, c, s.ProposalData("A proposal still in draft", BODY))
    for proposal in (withdrawn, hidden, rejected, draft):
        verdict = can(user, "proposals.proposal.endorse", proposal)
        assert not verdict and verdict.code == "invalid_state", proposal.title
        with pytest.raises(NotAllowed):
            endorse_proposal(user, proposal)
    assert "Rejected proposals" in str(can(user, "proposals.proposal.endorse", rejected).reason)
    assert _rows() == 0
    evaluating = _published(c, title="A proposal being evaluated")
    s.answer_proposal(admin, evaluating, "evaluating", None)
    endorse_proposal(user, evaluating)  # evaluating or accepted proposals may be endorsed
    assert _count(evaluating) == 1


def test_one_endorsement_per_verified_person(app, org):
    c = make_component(org, step=OPEN)
    db.session.add(ActionRequirement(organization_id=org.id, component_id=c.id, action="endorse",
                                     level=Assurance.SUBSTANTIAL, person_key=True))
    db.session.flush()
    c.__dict__.pop("_decidim_requirements", None)
    p = _published(c)
    unverified = make_user(org)
    with pytest.raises(NotAllowed):
        endorse_proposal(unverified, p)
    first, second = make_user(org), make_user(org)
    verification = verify_person(first, "person-123")
    assert endorse_proposal(first, p).person_key == "person-123"
    verification.revoked_at = utcnow()  # the verification moves to the person's other account
    db.session.flush()
    verify_person(second, "person-123")
    with pytest.raises(InvalidState):
        endorse_proposal(second, p)
    assert _rows() == 1 and _count(p) == 1


def test_database_refuses_a_second_endorsement_of_one_person_or_host(org, scene):
    c, p, user = scene
    host = make_host(org)
    db.session.add(ProposalEndorsement(proposal_id=p.id, component_id=c.id, user_id=user.id, person_key="k"))
    db.session.add(ProposalEndorsement(proposal_id=p.id, component_id=c.id, user_id=user.id, host_id=host.id))
    db.session.flush()
    for duplicate in (dict(person_key="k"), dict(host_id=host.id), dict(person_key="x", host_id=host.id), {}):
        nested = db.session.begin_nested()
        db.session.add(ProposalEndorsement(proposal_id=p.id, component_id=c.id, user_id=user.id, **duplicate))
        with pytest.raises(IntegrityError):
            db.session.flush()
        nested.rollback()


# --- on behalf of a host ------------------------------------------------------------------------


def test_members_endorse_on_behalf_of_their_host(app, org):
    c = make_component(org, step=OPEN)
    p = _published(c)
    host = make_host(org)
    member, admin_of_host, outsider = _member(org, host), _member(org, host, HostRole.ADMIN), make_user(org)
    with pytest.raises(NotAllowed) as info:
        endorse_proposal(outsider, p, host=host)
    assert info.value.verdict.code == "not_member" and _rows() == 0
    row = endorse_proposal(member, p, host=host)
    assert row.host_id == host.id and row.person_key is None and row.user_id == member.id
    with pytest.raises(InvalidState, match="already endorses"):
        endorse_proposal(admin_of_host, p, host=host)
    endorse_proposal(member, p)  # the member also endorses as themselves: two identities, two endorsements
    assert _count(p) == 2
    with pytest.raises(NotAllowed):
        unendorse_proposal(outsider, p, host=host)
    unendorse_proposal(admin_of_host, p, host=host)  # any member may withdraw the host's endorsement
    assert _count(p) == 1 and _rows() == 1


def test_a_host_of_another_organisation_is_refused(app, org):
    from decidim_py.testing import make_organization

    c = make_component(org, step=OPEN)
    p = _published(c)
    other = make_organization(host="other.example.test")
    foreign = make_host(other)
    user = make_user(org)
    db.session.add(HostMembership(host=foreign, user=user, role=HostRole.ADMIN))
    db.session.flush()
    with pytest.raises(NotAllowed):
        endorse_proposal(user, p, host=foreign)
    assert _rows() == 0


# --- the list of endorsers, the sort ------------------------------------------------------------


def test_endorsers_list_names_hosts_and_people_who_chose_to_be_named(app, org):
    c = make_component(org, step=OPEN)
    p = _published(c)
    host = make_host(org)
    named, discreet = make_user(org, name="Named Person"), make_user(org, name="Discreet Person")
    endorse_proposal(named, p, show_name=True)
    endorse_proposal(discreet, p, show_name=False)
    endorse_proposal(_member(org, host), p, host=host)
    names, listed = endorsers(p)
    assert names == [host.name["en"], "Named Person"] and listed == 2
    assert _count(p) == 3


def test_most_endorsed_sort(app, org):
    c = make_component(org, step=OPEN)
    a = _published(c, title="Benches along the river walk")
    b = _published(c, title="More bicycle lanes downtown")
    z = _published(c, title="A fountain in every square")
    for _ in range(2):
        endorse_proposal(make_user(org), b)
    endorse_proposal(make_user(org), z)
    ids = [p.id for p in list_proposals(c, Filters(sort="most_endorsed")).items]
    assert ids == [b.id, z.id, a.id]
    off = make_component(org, settings={"endorsements_enabled": False})
    assert "most_endorsed" not in available_sorts(off)
    assert "most_endorsed" in available_sorts(c)


# --- pages ------------------------------------------------------------------------------------


def _base(c) -> str:
    return f"/processes/{c.space.slug}/proposals/{c.id}"


def test_endorse_by_form_and_the_endorsers_on_the_page(app, org, client, commit):
    c = make_component(org, step=OPEN)
    p = _published(c)
    host = make_host(org)
    user = _member(org, host)
    user.name = "Maria Endorser"
    commit()
    anonymous = client.get(f"{_base(c)}/{p.id}")
    assert "0 endorsements" in anonymous.text and "Please sign in to do this." in anonymous.text
    login_as(client, user)
    page = client.get(f"{_base(c)}/{p.id}")
    assert page.text.count("<h1") == 1 and 'for="show_name"' in page.text
    assert f"Endorse on behalf of {host.name['en']}" in page.text
    ok = client.post(f"{_base(c)}/{p.id}/endorse", data={"show_name": "1"})
    assert ok.status_code == 303 and ok.headers["Location"].endswith("#endorsements-title")
    assert client.post(f"{_base(c)}/{p.id}/endorse", data={"host_id": str(host.id)}).status_code == 303
    again = client.post(f"{_base(c)}/{p.id}/endorse", data={"host_id": str(host.id)})
    assert again.status_code == 409 and "already endorses" in again.text
    assert client.post(f"{_base(c)}/{p.id}/endorse", data={"host_id": "999999"}).status_code == 409
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).endorsements_count == 2
    page = client.get(f"{_base(c)}/{p.id}")
    assert "2 endorsements" in page.text and "Maria Endorser" in page.text
    assert "Withdraw my endorsement" in page.text and f"Withdraw the endorsement of {host.name['en']}" in page.text
    assert client.post(f"{_base(c)}/{p.id}/unendorse").status_code == 303
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Proposal, p.id).endorsements_count == 1
    listing = client.get(f"{_base(c)}/?order=most_endorsed")
    assert "1 endorsement" in listing.text and 'value="most_endorsed" selected' in listing.text


def test_endorsements_hidden_when_the_phase_does_not_show_them(app, org, client, commit):
    c = make_component(org)
    p = _published(c)
    commit()
    page = client.get(f"{_base(c)}/{p.id}")
    assert page.status_code == 200 and "endorsements-title" not in page.text


def test_refused_endorsement_by_form_writes_nothing(app, org, client, commit):
    c = make_component(org, step={**OPEN, "endorsements_blocked": True})
    p = _published(c)
    user = make_user(org)
    commit()
    login_as(client, user)
    page = client.get(f"{_base(c)}/{p.id}")
    assert "Endorsements are closed in this phase." in page.text
    assert client.post(f"{_base(c)}/{p.id}/endorse").status_code == 403
    db.session.rollback()
    assert _rows() == 0


def test_most_endorsed_list_page_uses_a_fixed_number_of_statements(app, org, client, commit):
    c = make_component(org, step=OPEN)
    author = make_user(org)
    for i in range(60):
        db.session.add(Proposal(organization_id=org.id, component_id=c.id, author_id=author.id,
                                title=f"{TITLE} {i}", body=BODY, reference=f"R-{i}", published_at=s.utcnow(),
                                endorsements_count=i % 7))
    viewer = make_user(org)
    commit()
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def measure(url: str) -> int:
        statements.clear()
        event.listen(get_engine(), "before_cursor_execute", count)
        try:
            resp = client.get(url)
        finally:
            event.remove(get_engine(), "before_cursor_execute", count)
        assert resp.status_code == 200
        return len([st for st in statements if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK)", st)])

    base = _base(c)
    anonymous = [measure(f"{base}/?order=most_endorsed&page={page}") for page in (1, 3)]
    assert anonymous[0] == anonymous[1] <= 10
    login_as(client, viewer)
    signed_in = [measure(f"{base}/?order={order}&page={page}") for order in ("most_endorsed", "recent")
                 for page in (1, 3)]
    assert len(set(signed_in)) == 1  # the sort costs no statement: the counter is a column


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.skipif(backend() != "postgresql",
                    reason="row locks under real parallel transactions: run with DECIDIM_TEST_DB=postgresql")
def test_counter_exact_under_50_parallel_endorse_and_unendorse(app, org):
    from decidim_py.accounts.models import User

    c = make_component(org, step=OPEN)
    p = _published(c)
    leaving = [make_user(org) for _ in range(20)]
    for user in leaving:
        endorse_proposal(user, p)
    joining = [make_user(org) for _ in range(20)]
    pid = p.id
    db.session.commit()
    # 20 withdraw, 20 endorse, and 10 of those repeat their endorsement at the same moment
    calls = [(unendorse_proposal, u.id) for u in leaving] + [(endorse_proposal, u.id) for u in joining]
    calls += [(endorse_proposal, u.id) for u in joining[:10]]

    def job(service, user_id):
        def load():
            user, proposal = db.session.get(User, user_id), db.session.get(Proposal, pid)
            return lambda: service(user, proposal)
        return load

    outcomes = race(app, [job(service, uid) for service, uid in calls], (NotAllowed, InvalidState))
    assert outcomes == {"ok": 40, "refused": 10, "error": 0}
    db.session.expire_all()
    assert _rows() == 20
    assert db.session.get(Proposal, pid).endorsements_count == 20
