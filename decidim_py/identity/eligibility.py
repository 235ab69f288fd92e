"""Eligibility: what component actions need (requirements) and the permission rule that checks a
person's stored facts against them (the "eligibility" link of the chain)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..db import db, utcnow
from ..errors import InvalidState
from ..permissions import Verdict, allow, deny, require, rule, signed_in
from ..transparency import record
from .models import ActionRequirement, Assurance, EligibilityGrant, PersonKeyKind, PersonVerification

ACTIONS = ("create", "support", "vote", "comment", "endorse", "amend")
ACTION_LABELS = {"create": _("Create"), "support": _("Support"), "vote": _("Vote"),
                 "comment": _("Comment"), "endorse": _("Endorse"), "amend": _("Amend")}
LEVEL_LABELS = {Assurance.LOW: _("Low"), Assurance.SUBSTANTIAL: _("Substantial"), Assurance.HIGH: _("High")}


@dataclass
class RequirementData:
    level: Assurance = Assurance.LOW
    resident: bool = False
    zone: str | None = None
    min_age: int | None = None
    person_key: bool = False
    allow_low_assurance_person_key: bool = False

    def is_empty(self) -> bool:
        return (self.level == Assurance.LOW and not self.resident and not self.zone
                and self.min_age is None and not self.person_key)


def requirement_for(component: Any, verb: str) -> ActionRequirement | None:
    """The requirement of one action; all of a component's requirements load with one statement, once
    per component object (i.e. per request)."""
    cache = component.__dict__.get("_decidim_requirements")
    if cache is None:
        cache = {row.action: row for row in db.session.scalars(
            select(ActionRequirement).where(ActionRequirement.component_id == component.id))}
        component.__dict__["_decidim_requirements"] = cache
    return cache.get(verb)


def set_requirement(actor: Any, component: Any, verb: str, data: RequirementData) -> ActionRequirement | None:
    """Attach (or clear) the eligibility requirements of one component action: a decision."""
    require(actor, "components.component.manage", component)
    if verb not in component.manifest.actions:
        raise InvalidState(_("This component has no such action."))
    if data.min_age is not None and not 0 < data.min_age < 120:
        raise InvalidState(_("The minimum age must be between 1 and 119."))
    if data.zone and data.zone not in _zones(component):
        raise InvalidState(_("Unknown zone."))
    existing = requirement_for(component, verb)
    old = _as_dict(existing)
    if data.is_empty():
        if existing is None:
            return None
        db.session.delete(existing)
        row = None
    else:
        row = existing or ActionRequirement(organization_id=component.organization_id,
                                            component_id=component.id, action=verb)
        for key, value in data.__dict__.items():
            setattr(row, key, value)
        db.session.add(row)
    db.session.flush()
    component.__dict__.pop("_decidim_requirements", None)
    new = _as_dict(row)
    if old != new:
        record(actor, "eligibility.requirement.update", component, component=component,
               changes={"action": verb, "from": old, "to": new})
    return row


def _zones(component: Any) -> dict[str, Any]:
    from ..tenancy import Organization

    org = db.session.get(Organization, component.organization_id)
    return org.zones or {} if org else {}


def _as_dict(row: ActionRequirement | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"level": str(row.level), "resident": row.resident, "zone": row.zone, "min_age": row.min_age,
            "person_key": row.person_key, "allow_low_assurance_person_key": row.allow_low_assurance_person_key}


def grant_of(user: Any) -> EligibilityGrant | None:
    cache = user.__dict__.setdefault("_decidim_grant", [None, False])
    if not cache[1]:
        cache[0] = db.session.scalar(select(EligibilityGrant).where(EligibilityGrant.user_id == user.id))
        cache[1] = True
    return cache[0]


def verification_of(user: Any) -> Any:
    """The account's active person verification, read once per user object (i.e. per request: a
    page checks several actions). Any flush that writes a verification forgets it (below)."""
    from .services import active_verification

    cache = user.__dict__.get("_decidim_verification")
    if cache is None:
        cache = user.__dict__["_decidim_verification"] = [active_verification(user)]
    return cache[0]


@event.listens_for(Session, "after_flush")
def _forget_verifications(session: Session, _context: Any) -> None:
    if any(isinstance(obj, PersonVerification) for obj in (*session.new, *session.dirty, *session.deleted)):
        for obj in session.identity_map.values():
            obj.__dict__.pop("_decidim_verification", None)


def check(user: Any, req: ActionRequirement, *, session_level: Assurance | None = None) -> Verdict:
    """A person's facts against one requirement, with the reason and what to do when refused."""
    from .services import open_conflict_of

    if not signed_in(user) or getattr(user, "is_system", False):
        return deny(_("Please sign in with your digital identity to do this."), "sign_in")
    grant = grant_of(user)
    if grant is None:
        return deny(_("Please verify your identity: sign in with your digital identity."), "verify")
    if grant.expires_at < utcnow():
        return deny(_("Your verification has expired. Please sign in again with your digital identity."),
                    "expired")
    level = Assurance(grant.level)
    if level.rank < Assurance(req.level).rank:
        return deny(_("This needs a stronger sign-in (level %(level)s). Please sign in again with a "
                      "stronger method.", level=LEVEL_LABELS[Assurance(req.level)]), "step_up")
    if req.resident or req.zone:
        if grant.is_resident is None:
            return deny(_("Your identity provider did not say where you live, so we cannot check that you "
                          "are a resident."), "not_eligible")
        if not grant.is_resident:
            return deny(_("Only residents of the city can do this."), "not_eligible")
        if req.zone and grant.zone != req.zone:
            return deny(_("Only residents of this zone can do this."), "not_eligible")
    if req.min_age is not None:
        since = (grant.age_from or {}).get(str(req.min_age))
        if since is None:
            return deny(_("Your identity provider did not give your age, so we cannot check it."),
                        "not_eligible")
        if date.fromisoformat(since) > date.today():
            return deny(_("You must be at least %(age)d years old to do this.", age=req.min_age),
                        "not_eligible")
    if req.person_key:
        verification = verification_of(user)
        if verification is None:
            if open_conflict_of(user) is not None:
                return deny(_("Your identity is already verified on another account, which takes part for "
                              "you. An administrator can move the verification to this account."),
                            "person_conflict")
            return deny(_("Please verify your identity: sign in with your digital identity."), "verify")
        if verification.kind != PersonKeyKind.NATIONAL_ID and not req.allow_low_assurance_person_key:
            return deny(_("This needs a sign-in that proves who you are (level substantial or above). "
                          "Please sign in again with a stronger method."), "step_up")
    return allow()


def refusal(user: Any, component: Any, verb: str) -> Verdict | None:
    """The refusal of the component's requirement for `verb` (None: no requirement, or it is met),
    for actions that need the same eligibility as another (unsupporting as supporting...)."""
    req = requirement_for(component, verb)
    if req is None:
        return None
    verdict = check(user, req)
    return verdict if not verdict else None


def person_key_for(user: Any, component: Any, verb: str) -> str | None:
    """The key "one person, one voice" is unique on for the component's action `verb`: the verified
    person when its requirement asks for one (None while the account has no verification), the
    account otherwise."""
    req = requirement_for(component, verb)
    if req is not None and req.person_key:
        verification = verification_of(user)
        return verification.person_key if verification is not None else None
    return f"user:{user.id}"


def _component_of(subject: Any) -> Any:
    if type(subject).__name__ == "Component":
        return subject
    return getattr(subject, "component", None)


@rule("eligibility")
def eligibility_rule(user: Any, action: str, subject: Any) -> Verdict | None:
    component = _component_of(subject)
    if component is None or not action.startswith(component.manifest_name + "."):
        return None
    verb = action.rsplit(".", 1)[-1]
    req = requirement_for(component, verb)
    if req is None:
        return None
    verdict = check(user, req)
    return verdict if not verdict else None
