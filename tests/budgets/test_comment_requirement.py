"""Comments on budget projects need the component's `comment` requirement (the shared comments rule)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from decidim_py.accounts.system import SystemActor
from decidim_py.comments.models import Comment
from decidim_py.comments.services import create_comment
from decidim_py.db import db
from decidim_py.identity.eligibility import RequirementData, set_requirement
from decidim_py.identity.models import Assurance
from decidim_py.permissions import NotAllowed
from decidim_py.testing import make_user
from tests.budgets.conftest import make_budget, make_component, verify_person


def test_commenting_on_a_project_needs_the_comment_requirement(app, org):
    component = make_component(org)
    project = make_budget(component, 100_000, (60_000,)).projects[0]
    set_requirement(SystemActor(org.id), component, "comment", RequirementData(level=Assurance.SUBSTANTIAL,
                                                                               resident=True))
    resident = make_user(org)
    with pytest.raises(NotAllowed) as exc:
        create_comment(resident, project, "Benches near the fountain, please.")
    assert exc.value.verdict.code == "verify"
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0
    verify_person(resident)
    assert create_comment(resident, project, "Benches near the fountain, please.").resource_type == "Project"
