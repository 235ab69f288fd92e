"""Budget services on the real database: the b.3 rules (ok / refused with nothing written / invalid
state), workflows, settings validation, receipts, the outcome rule declared before voting, admin
services and their decisions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from budgets import ballots as b
from budgets import services as s
from budgets.models import Ballot, BallotItem, Budget, Project
from decidim_py.accounts.system import SystemActor
from decidim_py.components import update_component
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.permissions import NotAllowed
from decidim_py.testing import make_admin, make_process, make_user
from decidim_py.transparency.models import DecisionRecord
from tests.budgets.conftest import make_budget, make_component, require_vote, verify_person


def _records(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(DecisionRecord).where(
        DecisionRecord.action == action)) or 0


def _rows(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("values, message", [
    ({"vote_rule_threshold_percent_enabled": False}, "Choose one voting rule"),
    ({"vote_rule_minimum_budget_projects_enabled": True}, "Choose only one voting rule"),
    ({"vote_rule_threshold_percent_enabled": False, "vote_rule_minimum_budget_projects_enabled": True,
      "vote_rule_selected_projects_enabled": True}, "Choose only one voting rule"),
    ({"vote_threshold_percent": 120}, "between 0 and 100"),
    ({"vote_rule_threshold_percent_enabled": False, "vote_rule_minimum_budget_projects_enabled": True,
      "vote_minimum_budget_projects_number": 0}, "at least 1"),
    ({"vote_rule_threshold_percent_enabled": False, "vote_rule_selected_projects_enabled": True,
      "vote_selected_projects_maximum": 0}, "must be at least 1"),
    ({"vote_rule_threshold_percent_enabled": False, "vote_rule_selected_projects_enabled": True,
      "vote_selected_projects_minimum": 3, "vote_selected_projects_maximum": 2}, "cannot be below the minimum"),
])
def test_vote_rule_settings_are_validated(app, org, values, message):
    c = make_component(org)
    before = dict(c.settings)
    with pytest.raises(InvalidState) as exc:
        update_component(SystemActor(org.id), c, global_values=values)
    assert message in str(exc.value.message)
    assert c.settings == before


def test_a_valid_rule_change_is_saved_and_recorded(app, org):
    c = make_component(org)
    update_component(SystemActor(org.id), c, global_values={
        "vote_rule_threshold_percent_enabled": False, "vote_rule_selected_projects_enabled": True,
        "vote_selected_projects_minimum": 1, "vote_selected_projects_maximum": 3})
    assert c.global_settings.vote_rule_selected_projects_enabled
    assert c.global_settings.receipts_enabled is True  # default on


# --- the three rules ---------------------------------------------------------------------------


def test_threshold_rule_add_within_budget_checkout_from_the_percentage(app, org):
    c = make_component(org)  # default: threshold 70 %
    budget = make_budget(c, 100_000, (30_000, 40_000, 50_000))
    p1, p2, p3 = budget.projects
    user = make_user(org)
    b.add_project(user, p1)
    with pytest.raises(InvalidState, match="already in your ballot"):
        b.add_project(user, p1)
    b.add_project(user, p3)  # 80 000
    with pytest.raises(InvalidState, match="does not fit"):
        b.add_project(user, p2)  # 120 000 > 100 000: refused, nothing written
    assert _rows(BallotItem) == 2
    b.remove_project(user, p3)
    with pytest.raises(InvalidState, match="at least 70%"):
        b.checkout_ballot(user, budget)  # 30 000 < 70 000
    assert db.session.scalar(select(Ballot.checked_out_at)) is None
    b.add_project(user, p2)  # 70 000: exactly the threshold
    decisions = _rows(DecisionRecord)
    code = b.checkout_ballot(user, budget)
    assert code and _rows(DecisionRecord) == decisions  # a private act: no public decision per ballot
    db.session.expire_all()
    assert budget.ballots_count == 1 and [p.votes_count for p in budget.projects] == [1, 1, 0]
    with pytest.raises(NotAllowed) as exc:
        b.add_project(user, p3)
    assert exc.value.verdict.code == "voted"
    with pytest.raises(NotAllowed):
        b.remove_project(user, p1)  # checked out: no change without cancelling


def test_threshold_uses_integer_division_like_decidim(app, org):
    c = make_component(org)
    budget = make_budget(c, 999, (699, 300))
    user = make_user(org)
    b.add_project(user, budget.projects[0])  # 699 >= 999 * 70 // 100 = 699
    assert b.checkout_ballot(user, budget)


def test_minimum_projects_rule(app, org):
    c = make_component(org, settings={"vote_rule_threshold_percent_enabled": False,
                                      "vote_rule_minimum_budget_projects_enabled": True,
                                      "vote_minimum_budget_projects_number": 2})
    budget = make_budget(c, 100_000, (10_000, 20_000, 95_000))
    p1, p2, p3 = budget.projects
    user = make_user(org)
    b.add_project(user, p1)
    with pytest.raises(InvalidState, match="at least 2 projects"):
        b.checkout_ballot(user, budget)
    with pytest.raises(InvalidState, match="does not fit"):
        b.add_project(user, p3)  # money still counts: 100 000 max
    b.add_project(user, p2)
    assert b.checkout_ballot(user, budget)  # 30 000: no money minimum


def test_selected_projects_rule_ignores_money(app, org):
    c = make_component(org, settings={"vote_rule_threshold_percent_enabled": False,
                                      "vote_rule_selected_projects_enabled": True,
                                      "vote_selected_projects_minimum": 2, "vote_selected_projects_maximum": 3})
    budget = make_budget(c, 10_000, (9_000, 9_000, 9_000, 9_000))
    user = make_user(org)
    b.add_project(user, budget.projects[0])
    with pytest.raises(InvalidState, match="between 2 and 3"):
        b.checkout_ballot(user, budget)
    b.add_project(user, budget.projects[1])  # 18 000 > 10 000: money ignored
    b.add_project(user, budget.projects[2])
    with pytest.raises(InvalidState, match="at most 3 projects"):
        b.add_project(user, budget.projects[3])
    assert b.checkout_ballot(user, budget)
    view = b.ballot_of(budget, b.person_key_for(user, c))
    assert view.progress == (3, 3)


def test_empty_ballot_cannot_be_checked_out(app, org):
    c = make_component(org)
    budget = make_budget(c, 100_000, (80_000,))
    with pytest.raises(InvalidState, match="empty"):
        b.checkout_ballot(make_user(org), budget)


# --- phase settings, closing, cancelling -------------------------------------------------------


@pytest.mark.parametrize("votes, code", [("disabled", "phase_closed"), ("finished", "votes_finished")])
def test_votes_setting_disabled_or_finished_refuses(app, org, votes, code):
    c = make_component(org, step={"votes": votes})
    budget = make_budget(c, 100_000, (80_000,))
    with pytest.raises(NotAllowed) as exc:
        b.add_project(make_user(org), budget.projects[0])
    assert exc.value.verdict.code == code
    assert _rows(Ballot) == 0


def test_anonymous_people_are_asked_to_sign_in(app, org):
    from decidim_py.permissions import can

    c = make_component(org)
    budget = make_budget(c, 100_000, (80_000,))
    assert can(None, "budgets.budget.vote", budget).code == "sign_in"


def test_only_the_space_admins_manage_budgets(app, org):
    from decidim_py.permissions import can

    c = make_component(org)
    budget = make_budget(c, 100_000, (80_000,))
    resident, admin = make_user(org), make_admin(org)
    assert can(resident, "budgets.budget.manage", budget).code == "not_admin"
    assert can(None, "budgets.admin.access", c).code in {"not_admin", "sign_in"}
    assert can(admin, "budgets.budget.manage", budget) and can(admin, "budgets.admin.access", c)
    with pytest.raises(NotAllowed) as exc:
        s.update_budget(resident, budget, s.BudgetData(title={"en": "Mine"}, total_amount=1))
    assert exc.value.verdict.code == "not_admin" and budget.total_amount == 100_000


def test_cancel_a_checked_out_ballot_while_voting_is_open(app, org):
    c = make_component(org)
    budget = make_budget(c, 100_000, (80_000, 10_000))
    user = make_user(org)
    with pytest.raises(InvalidState, match="no checked-out ballot"):
        b.cancel_ballot(user, budget)
    b.add_project(user, budget.projects[0])
    with pytest.raises(InvalidState, match="no checked-out ballot"):
        b.cancel_ballot(user, budget)  # b.3: only a checked-out ballot is cancelled
    b.checkout_ballot(user, budget)
    b.cancel_ballot(user, budget)
    db.session.expire_all()
    assert _rows(Ballot) == 0 and _rows(BallotItem) == 0
    assert budget.ballots_count == 0 and budget.projects[0].votes_count == 0
    b.add_project(user, budget.projects[1])  # voting again is possible
    b.add_project(user, budget.projects[0])
    assert b.checkout_ballot(user, budget)


def test_cancelling_is_refused_once_voting_finished(app, org):
    c = make_component(org)
    budget = make_budget(c, 100_000, (80_000,))
    user = make_user(org)
    b.add_project(user, budget.projects[0])
    b.checkout_ballot(user, budget)
    update_component(SystemActor(org.id), c, step_values={c.space.steps[0].id: {"votes": "finished"}})
    with pytest.raises(NotAllowed) as exc:
        b.cancel_ballot(user, budget)
    assert exc.value.verdict.code == "votes_finished"
    assert _rows(Ballot) == 1


# --- workflows ---------------------------------------------------------------------------------


def test_workflow_one_a_single_budget(app, org):
    c = make_component(org)  # workflow "one" is the default
    north, south = make_budget(c, 100_000, (80_000,), title="North"), make_budget(c, 100_000, (80_000,),
                                                                                   title="South")
    user = make_user(org)
    b.add_project(user, north.projects[0])
    with pytest.raises(NotAllowed) as exc:
        b.add_project(user, south.projects[0])
    assert exc.value.verdict.code == "progress_elsewhere"
    b.checkout_ballot(user, north)
    with pytest.raises(NotAllowed) as exc:
        b.add_project(user, south.projects[0])
    assert exc.value.verdict.code == "voted_elsewhere"
    b.cancel_ballot(user, north)  # discardable: then the other budget is open
    b.add_project(user, south.projects[0])


def test_workflow_all_each_budget_once(app, org):
    c = make_component(org, settings={"workflow": "all"})
    north, south = make_budget(c, 100_000, (80_000,)), make_budget(c, 100_000, (80_000,))
    user = make_user(org)
    for budget in (north, south):
        b.add_project(user, budget.projects[0])
        assert b.checkout_ballot(user, budget)
    with pytest.raises(NotAllowed) as exc:
        b.checkout_ballot(user, north)
    assert exc.value.verdict.code == "voted"


def test_workflow_zone_uses_the_zone_of_the_eligibility_grant(app, org):
    from decidim_py.identity.services import save_residence

    save_residence(SystemActor(org.id), org, ["08001", "08012"], {
        "ciutat-vella": {"name": {"en": "Old town"}, "postal_codes": ["08001"]},
        "gracia": {"name": {"en": "Gracia"}, "postal_codes": ["08012"]}})
    c = make_component(org, settings={"workflow": "zone"})
    old_town = make_budget(c, 100_000, (80_000,), zone="ciutat-vella")
    gracia = make_budget(c, 100_000, (80_000,), zone="gracia")
    city = make_budget(c, 100_000, (80_000,))
    resident, unverified = make_user(org), make_user(org)
    verify_person(resident, zone="gracia")
    with pytest.raises(NotAllowed) as exc:
        b.add_project(resident, old_town.projects[0])
    assert exc.value.verdict.code == "other_zone"
    with pytest.raises(NotAllowed) as exc:
        b.add_project(unverified, gracia.projects[0])
    assert exc.value.verdict.code == "verify"
    for budget in (gracia, city):  # their zone's budget, and the whole city's
        b.add_project(resident, budget.projects[0])
        b.checkout_ballot(resident, budget)
    assert _rows(Ballot) == 2
    with pytest.raises(InvalidState, match="Unknown zone"):
        make_budget(c, 100_000, (), zone="atlantis")


# --- eligibility and the person key ------------------------------------------------------------


def test_vote_eligibility_and_one_ballot_per_person_key(app, org):
    c = make_component(org)
    require_vote(c, person_key=True)
    budget = make_budget(c, 100_000, (80_000,))
    account, second_account, stranger = make_user(org), make_user(org), make_user(org)
    verify_person(account, "person-1")
    with pytest.raises(NotAllowed) as exc:
        b.add_project(stranger, budget.projects[0])
    assert exc.value.verdict.code == "verify"
    b.add_project(account, budget.projects[0])
    b.checkout_ballot(account, budget)
    # the same person (a second account moved to the same key) cannot vote again
    db.session.execute(Ballot.__table__.update().values(person_key="person-1"))
    verify_person(second_account)
    assert b.person_key_for(account, c) == "person-1"
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(Ballot(budget_id=budget.id, component_id=c.id, person_key="person-1"))
            db.session.flush()


def test_receipts_are_random_grouped_and_only_their_hash_is_kept(app, org):
    codes = {b.new_receipt() for _ in range(50)}
    assert len(codes) == 50
    code = next(iter(codes))
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}", code)  # 32 symbols × 5 bits
    assert b.receipt_sha256(code.lower().replace("-", " ")) == b.receipt_sha256(code)
    c = make_component(org)
    budget = make_budget(c, 100_000, (80_000,))
    user = make_user(org)
    b.add_project(user, budget.projects[0])
    code = b.checkout_ballot(user, budget)
    ballot = db.session.scalar(select(Ballot))
    assert ballot.receipt_sha256 == b.receipt_sha256(code) and code not in str(ballot.__dict__)
    assert re.fullmatch(r"[0-9a-f]{24}", ballot.public_id) and ballot.public_id != str(ballot.id)


def test_without_receipts_checkout_gives_none(app, org):
    c = make_component(org, settings={"receipts_enabled": False})
    budget = make_budget(c, 100_000, (80_000,))
    user = make_user(org)
    b.add_project(user, budget.projects[0])
    assert b.checkout_ballot(user, budget) is None
    assert db.session.scalar(select(Ballot.receipt_sha256)) is None


# --- admin services ----------------------------------------------------------------------------


def test_budget_and_project_crud_is_recorded(app, org):
    admin = make_admin(org)
    c = make_component(org)
    budget = s.create_budget(admin, c, s.BudgetData(title={"en": "North"}, description={
        "en": "<p>Parks <script>alert(1)</script></p>"}, total_amount=500_000))
    assert "<script>" not in budget.description["en"]
    with pytest.raises(InvalidState, match="more than 0"):
        s.create_budget(admin, c, s.BudgetData(title={"en": "Zero"}, total_amount=0))
    with pytest.raises(InvalidState, match="needs a title"):
        s.create_budget(admin, c, s.BudgetData(title={}, total_amount=10))
    project = s.create_project(admin, budget, s.ProjectData(title={"en": "Benches"}, cost=12_050,
                                                            address="Main square"))
    with pytest.raises(InvalidState, match="more than 0"):
        s.create_project(admin, budget, s.ProjectData(title={"en": "Free"}, cost=0))
    s.update_project(admin, project, s.ProjectData(title={"en": "More benches"}, cost=13_000))
    s.update_budget(admin, budget, s.BudgetData(title={"en": "North side"}, total_amount=600_000))
    assert (_records("budgets.budget.create"), _records("budgets.project.create"),
            _records("budgets.project.update"), _records("budgets.budget.update")) == (1, 1, 1, 1)
    with pytest.raises(InvalidState, match="projects first"):
        s.delete_budget(admin, budget)
    s.delete_project(admin, project)
    s.delete_budget(admin, budget)
    assert _rows(Budget) == 0 and _records("budgets.budget.delete") == 1
    with pytest.raises(NotAllowed):
        s.create_budget(make_user(org), c, s.BudgetData(title={"en": "X"}, total_amount=10))


def test_projects_in_ballots_keep_their_cost(app, org):
    admin = make_admin(org)
    c = make_component(org)
    budget = make_budget(c, 100_000, (80_000,))
    b.add_project(make_user(org), budget.projects[0])
    project = budget.projects[0]
    with pytest.raises(InvalidState, match="cannot change"):
        s.update_project(admin, project, s.ProjectData(title=project.title, cost=1))
    with pytest.raises(InvalidState, match="cannot be deleted"):
        s.delete_project(admin, project)


def test_outcome_rule_is_declared_before_voting(app, org):
    admin = make_admin(org)
    c = make_component(org, step={"votes": "disabled"})
    budget = make_budget(c, 100_000, (80_000,))
    s.set_outcome_rule(admin, budget, "mes_add1", {"completion": "greedy"}, ["lowest_cost", "lot"], "seed-2027")
    assert budget.outcome_params == {"completion": "greedy", "comparison": False}
    assert budget.tie_breaking == {"order": ["lowest_cost", "lot"], "lot_seed": "seed-2027"}
    assert _records("budgets.budget.set_rule") == 1
    with pytest.raises(InvalidState):
        s.set_outcome_rule(admin, budget, "mes", {"completion": "sometimes"}, ["lot"])
    with pytest.raises(InvalidState, match="Unknown outcome rule"):
        s.set_outcome_rule(admin, budget, "dictator", {}, ["lot"])
    with pytest.raises(InvalidState):
        s.set_outcome_rule(admin, budget, "greedy", {}, ["shoe_size"])
    update_component(SystemActor(org.id), c, step_values={c.space.steps[0].id: {"votes": "enabled"}})
    with pytest.raises(InvalidState, match="Voting is open"):
        s.set_outcome_rule(admin, budget, "greedy", {}, ["lot"])
    assert budget.outcome_rule == "mes_add1" and _records("budgets.budget.set_rule") == 1


def test_outcome_rule_cannot_change_once_anyone_voted(app, org):
    admin = make_admin(org)
    c = make_component(org, publish=False)  # not published: voting not open yet
    budget = make_budget(c, 100_000, (80_000,))
    s.set_outcome_rule(admin, budget, "greedy", {}, ["most_votes", "lot"])
    db.session.add(Ballot(budget_id=budget.id, component_id=c.id, person_key="import:x"))
    db.session.flush()
    with pytest.raises(InvalidState, match="People have voted"):
        s.set_outcome_rule(admin, budget, "mes", {}, ["lot"])


def test_projects_from_accepted_proposals(app, org):
    from decidim_py.components import add_component, publish_component
    from proposals import services as ps

    admin = make_admin(org)
    process = make_process(org, steps=1)
    proposals = add_component(SystemActor(org.id), process, "proposals", {"en": "Proposals"})
    update_component(SystemActor(org.id), proposals, global_values={"answers_with_costs": True},
                     step_values={process.steps[0].id: {"creation_enabled": True}})
    publish_component(SystemActor(org.id), proposals)
    author = make_user(org)
    made = []
    for title in ("Plant more trees in the park", "A new bike lane on the avenue", "Water fountains at schools"):
        p = ps.publish_proposal(author, ps.create_proposal(author, proposals, ps.ProposalData(
            title, "A longer description of the idea.\nSecond paragraph.")))
        made.append(p)
    ps.answer_proposal(admin, made[0], "accepted", "Yes.", cost=12_000)
    ps.answer_proposal(admin, made[1], "accepted", "Yes.", cost=30_000)
    ps.answer_proposal(admin, made[2], "rejected", "No money.")
    c = make_component(org, process=process)
    budget = make_budget(c, 10_000_000)
    assert s.import_projects_from_proposals(admin, budget, proposals) == 2
    assert s.import_projects_from_proposals(admin, budget, proposals) == 0  # not twice
    db.session.refresh(budget)
    assert [(p.cost, [x.id for x in p.proposals]) for p in budget.projects] == [
        (1_200_000, [made[0].id]), (3_000_000, [made[1].id])]
    assert budget.projects[0].description["en"] == "<p>A longer description of the idea.</p><p>Second paragraph.</p>"
    assert _records("budgets.project.import") == 1
    other = make_component(org)  # another space
    with pytest.raises(InvalidState, match="this space"):
        s.import_projects_from_proposals(admin, make_budget(other, 100), proposals)
    with pytest.raises(InvalidState, match="Only published proposals of this space"):
        s.create_project(admin, make_budget(other, 100), s.ProjectData(title={"en": "x"}, cost=5,
                                                                      proposal_ids=[made[0].id]))
    assert _rows(Project) == 2
