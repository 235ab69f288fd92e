"""The proposals component: participants propose, support and follow the answers (DESIGN.md §2).

Importing the package registers its manifest; `COMPONENTS` lists it by default.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _

from decidim_py.components import ComponentManifest, Setting, register_component

from . import (
    log,  # noqa: F401  (registers the decision kinds)
    models,  # noqa: F401
)
from .admin import bp as admin_bp
from .permissions import permissions
from .views import bp

SORTS = (("automatic", _("Automatic")), ("random", _("Random")), ("recent", _("Most recent")),
         ("most_supported", _("Most supported")), ("most_endorsed", _("Most endorsed")),
         ("most_commented", _("Most commented")))

GLOBAL_SETTINGS = [
    Setting("vote_limit", "int", default=0, min=0, label=_("Supports per participant"),
            help=_("0 means no limit.")),
    Setting("minimum_votes_per_user", "int", default=0, min=0, label=_("Minimum supports per participant"),
            help=_("Supports count only once a participant has given at least this many.")),
    Setting("threshold_per_proposal", "int", default=0, min=0, label=_("Threshold per proposal"),
            help=_("0 means no threshold.")),
    Setting("can_accumulate_votes_beyond_threshold", "bool", default=False,
            label=_("Allow supports beyond the threshold")),
    Setting("proposal_limit", "int", default=0, min=0, label=_("Proposals per participant"),
            help=_("0 means no limit. Drafts count.")),
    Setting("proposal_length", "int", default=500, min=15, max=100000,
            label=_("Maximum length of a proposal's description")),
    Setting("proposal_edit_time", "enum", default="limited", label=_("Editing by the author"),
            choices=(("limited", _("For a limited time")), ("infinite", _("Without a time limit")))),
    Setting("edit_time_value", "int", default=5, min=0, label=_("Edit time")),
    Setting("edit_time_unit", "enum", default="minutes", label=_("Edit time unit"),
            choices=(("minutes", _("Minutes")), ("hours", _("Hours")), ("days", _("Days")))),
    Setting("answers_with_costs", "bool", default=False, label=_("Answers give a cost")),
    Setting("amendments_enabled", "bool", default=False, label=_("Amendments enabled")),
    Setting("endorsements_enabled", "bool", default=True, label=_("Endorsements enabled")),
    Setting("comments_enabled", "bool", default=True, label=_("Comments enabled")),
    Setting("default_sort", "enum", default="automatic", label=_("Default order"), choices=SORTS),
]

STEP_SETTINGS = [
    Setting("creation_enabled", "bool", default=False, label=_("Participants can create proposals")),
    Setting("votes_enabled", "bool", default=False, label=_("Supports enabled")),
    Setting("votes_blocked", "bool", default=False, label=_("Supports blocked")),
    Setting("votes_hidden", "bool", default=False, label=_("Support counts hidden")),
    Setting("endorsements_enabled", "bool", default=False, label=_("Endorsements enabled")),
    Setting("endorsements_blocked", "bool", default=False, label=_("Endorsements blocked"),
            help=_("The endorsements stay visible, but nobody can endorse or withdraw an endorsement.")),
    Setting("amendment_creation_enabled", "bool", default=True, label=_("Participants can propose amendments")),
    Setting("amendment_reaction_enabled", "bool", default=True,
            label=_("Authors can accept or reject the amendments of their proposals")),
    Setting("amendment_promotion_enabled", "bool", default=True,
            label=_("Authors of rejected amendments can turn them into proposals")),
    Setting("amendments_visibility", "enum", default="all", label=_("Who sees the amendments"),
            choices=(("all", _("Everyone")),
                     ("participants", _("Only their authors (and the author of the amended proposal)")))),
    Setting("comments_blocked", "bool", default=False, label=_("Comments blocked")),
    Setting("publish_answers_immediately", "bool", default=True, label=_("Publish answers immediately")),
]


def _export(component):  # type: ignore[no-untyped-def]
    from .admin import export_rows

    return export_rows(component)


MANIFEST = register_component(ComponentManifest(
    name="proposals",
    label=_("Proposals"),
    description=_("Participants make proposals and support them; the organisation answers them."),
    blueprint=bp,
    admin_blueprint=admin_bp,
    global_settings=GLOBAL_SETTINGS,
    step_settings=STEP_SETTINGS,
    actions=["create", "support", "endorse", "amend", "comment"],
    permissions=permissions,
    exports={"proposals": _export},
))


def _load_any_proposal(organization_id: int, proposal_id: int) -> object | None:
    """A published proposal, hidden or not (moderation needs the hidden ones)."""
    from decidim_py.db import db

    from .models import Proposal

    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.component.organization_id != organization_id or not proposal.published_at:
        return None
    return proposal


def _load_proposal(organization_id: int, proposal_id: int) -> object | None:
    """A published proposal that moderation has not hidden."""
    proposal = _load_any_proposal(organization_id, proposal_id)
    return None if proposal is None or proposal.hidden_at is not None else proposal  # type: ignore[attr-defined]


def _proposal_url(proposal: object) -> str:
    from flask import url_for

    component = proposal.component  # type: ignore[attr-defined]
    return url_for("proposals.show", slug=component.space.slug, component_id=component.id,
                   proposal_id=proposal.id)  # type: ignore[attr-defined]


def _register_comments() -> None:
    from decidim_py.comments import Commentable, register_commentable

    register_commentable(Commentable("Proposal", load=_load_proposal, component_of=lambda p: p.component,
                                     url_of=_proposal_url, on_count_change=_comments_count_changed))


def _comments_count_changed(proposal_id: int, delta: int) -> None:
    """The "most commented" counter: one atomic UPDATE, exact under concurrent comments."""
    from sqlalchemy import update

    from decidim_py.db import db

    from .models import Proposal

    db.session.execute(update(Proposal).where(Proposal.id == proposal_id)
                       .values(comments_count=Proposal.comments_count + delta)
                       .execution_options(synchronize_session=False))
    proposal = db.session.identity_map.get(db.session.identity_key(Proposal, proposal_id))
    if proposal is not None:
        db.session.expire(proposal, ["comments_count"])


def _set_hidden(proposal: object, hidden_at: object) -> None:
    proposal.hidden_at = hidden_at  # type: ignore[attr-defined]  # the copy the lists filter on


def _register_moderation_and_notifications() -> None:
    """Proposals are reportable (moderation keeps hidden_at) and followable, with their events."""
    from decidim_py.moderation.registry import Reportable, register_reportable
    from decidim_py.notifications import Event, Followable, register_event, register_followable

    from .forms import STATE_LABELS

    register_reportable(Reportable("Proposal", load=_load_any_proposal, component_of=lambda p: p.component,
                                   author_of=lambda p: p.author, url_of=_proposal_url,
                                   preview=lambda p: p.title, on_hidden=_set_hidden))
    register_followable(Followable("Proposal", load=_load_proposal, component_of=lambda p: p.component,
                                   url_of=_proposal_url, title_of=lambda p: p.title))
    register_event(Event("proposals.answer_published", render=lambda d: _(
        'The proposal "%(title)s" has an answer: %(state)s.', title=d.get("title", ""),
        state=STATE_LABELS.get(d.get("state", ""), d.get("state", "")))))
    register_event(Event("proposals.withdrawn", render=lambda d: _(
        'The proposal "%(title)s" was withdrawn by its author.', title=d.get("title", ""))))
    register_event(Event("proposals.amendment_published", render=lambda d: _(
        'Someone proposed an amendment to "%(title)s".', title=d.get("title", ""))))
    register_event(Event("proposals.amendment_accepted", render=lambda d: _(
        'An amendment to "%(title)s" was accepted: the proposal has a new text.', title=d.get("title", ""))))
    register_event(Event("proposals.amendment_rejected", render=lambda d: _(
        'An amendment to "%(title)s" was rejected by the author.', title=d.get("title", ""))))


_register_comments()
_register_moderation_and_notifications()
