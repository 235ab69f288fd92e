"""Permissions: `can()` / `require()` run a chain of rules, deny by default (DESIGN.md §4).

The chain has four links, run in order: core → space → component → eligibility. Each rule of a
link answers `allow()`, `deny(reason)` or None (no opinion). The first denial wins; an action is
allowed only when some rule allowed it and none denied it. The denial's reason is meant for the
person: templates show it next to a disabled action, the 403 page shows it after `require()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import g, request
from flask_babel import lazy_gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session

LINKS = ("core", "space", "component", "eligibility")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: Any = None  # a (lazy) translated string for the person
    code: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def allow() -> Verdict:
    return Verdict(True)


def deny(reason: Any, code: str = "denied") -> Verdict:
    return Verdict(False, reason, code)


DEFAULT_DENIAL = Verdict(False, _("You are not allowed to do this."), "not_allowed")

Rule = Callable[[Any, str, Any], Verdict | None]
_rules: dict[str, list[Rule]] = {link: [] for link in LINKS}


def rule(link: str) -> Callable[[Rule], Rule]:
    """Register a rule in one link of the chain."""
    if link not in _rules:
        raise ValueError(f"unknown permission link {link!r}")

    def decorator(fn: Rule) -> Rule:
        if fn not in _rules[link]:
            _rules[link].append(fn)
        return fn

    return decorator


class NotAllowed(Exception):  # noqa: N818 - the name used across the design
    def __init__(self, verdict: Verdict) -> None:
        super().__init__(str(verdict.reason))
        self.verdict = verdict


def can(actor: Any, action: str, subject: Any = None) -> Verdict:
    """The chain's verdict. While a GET/HEAD request is dispatched the verdict of an identical
    (actor, action, subject) is reused: a page asks the same question several times (the component
    readable, once per action shown). Any flush or rollback of the session forgets them (below)."""
    memo = g.get("_decidim_can_memo") if g else None
    if memo is None:
        return _chain(actor, action, subject)
    key = (id(actor), action, id(subject))
    hit = memo.get(key)
    if hit is not None and hit[0] is actor and hit[1] is subject:
        return hit[2]
    verdict = _chain(actor, action, subject)
    memo[key] = (actor, subject, verdict)  # the objects are kept: their ids are not reused meanwhile
    return verdict


def start_request_memo() -> None:
    """An app url_value_preprocessor (run first, before any blueprint's): reading requests reuse
    the verdicts of identical questions."""
    g._decidim_can_memo = {} if request.method in ("GET", "HEAD") else None


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_soft_rollback")
def _forget_verdicts(*_args: Any) -> None:
    if g and g.get("_decidim_can_memo"):
        g._decidim_can_memo = {}


def _chain(actor: Any, action: str, subject: Any) -> Verdict:
    allowed = False
    for link in LINKS:
        for fn in _rules[link]:
            verdict = fn(actor, action, subject)
            if verdict is None:
                continue
            if not verdict.allowed:
                return verdict
            allowed = True
    return allow() if allowed else DEFAULT_DENIAL


def require(actor: Any, action: str, subject: Any = None) -> Verdict:
    verdict = can(actor, action, subject)
    if not verdict:
        raise NotAllowed(verdict)
    return verdict


def signed_in(actor: Any) -> bool:
    """A known account (blocked or not: the core rule refuses blocked ones with their own reason)."""
    return actor is not None and not getattr(actor, "is_anonymous", False)


# --- helpers for component rules ------------------------------------------------------------------


def is_component_manager(actor: Any, component: Any) -> bool:
    """Signed in and allowed to manage the component (its space's administrators)."""
    return signed_in(actor) and bool(can(actor, "components.component.manage", component))


def manager_verdict(actor: Any, component: Any) -> Verdict:
    """A component's admin action: allowed to the managers of the component only."""
    if is_component_manager(actor, component):
        return allow()
    return deny(_("Only the administrators of this space can do this."), "not_admin")


def participant_refusal(actor: Any, component: Any) -> Verdict | None:
    """The common start of a component's participant action: the component is readable by the actor
    (published, the space visible...) and the actor is signed in. The refusal, or None to go on."""
    readable = can(actor, "components.component.read", component)
    if not readable:
        return readable
    if not signed_in(actor):
        return deny(_("Please sign in to do this."), "sign_in")
    return None
