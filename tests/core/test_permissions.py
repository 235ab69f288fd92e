from __future__ import annotations

from datetime import UTC, datetime

import pytest

from decidim_py import permissions as perms
from decidim_py.permissions import NotAllowed, allow, can, deny, require
from decidim_py.testing import make_admin, make_organization, make_process, make_user


@pytest.fixture
def isolated_chain(monkeypatch):
    rules = {link: [] for link in perms.LINKS}
    monkeypatch.setattr(perms, "_rules", rules)
    return rules


def test_deny_by_default(isolated_chain):
    verdict = can(object(), "anything.at.all", None)
    assert not verdict and verdict.code == "not_allowed" and str(verdict.reason)


def test_first_denial_wins_even_after_an_allow(isolated_chain):
    perms.rule("core")(lambda a, act, s: allow())
    perms.rule("space")(lambda a, act, s: deny("Voting has not started.", "not_started"))
    perms.rule("component")(lambda a, act, s: allow())
    verdict = can(object(), "x.y.z")
    assert not verdict and verdict.reason == "Voting has not started."
    with pytest.raises(NotAllowed) as info:
        require(object(), "x.y.z")
    assert info.value.verdict.code == "not_started"


def test_all_none_means_no_and_any_allow_without_denial_means_yes(isolated_chain):
    perms.rule("core")(lambda a, act, s: None)
    assert not can(object(), "x")
    perms.rule("eligibility")(lambda a, act, s: allow())
    assert can(object(), "x")


def test_unknown_link_is_refused():
    with pytest.raises(ValueError):
        perms.rule("nowhere")


def test_core_rules(app):
    org = make_organization()
    other = make_organization()
    process = make_process(org)
    admin, user = make_admin(org), make_user(org)
    assert can(admin, "processes.process.manage", process)
    assert not can(user, "processes.process.manage", process)
    assert can(None, "processes.process.read", process)
    v = can(None, "processes.process.manage", process)
    assert not v and v.code == "sign_in"
    admin.blocked_at = datetime.now(UTC)
    v = can(admin, "processes.process.manage", process)
    assert not v and v.code == "blocked"
    foreign_admin = make_admin(other)
    v = can(foreign_admin, "processes.process.manage", process)
    assert not v and v.code == "other_organization"
