"""The debates component: open or time-boxed debates, comments in favour / neutral / against,
information updates, and closing with conclusions (a decision in the public record).

Importing the package registers its manifest.
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

GLOBAL_SETTINGS = [
    Setting("instructions", "translated", default={}, label=_("Instructions for participating")),
    Setting("comments_enabled", "bool", default=True, label=_("Comments enabled")),
    Setting("comments_alignment", "bool", default=True,
            label=_("Comments take a position (in favour, neutral, against)")),
]

STEP_SETTINGS = [
    Setting("creation_enabled", "bool", default=False, label=_("Participants can create debates")),
    Setting("comments_blocked", "bool", default=False, label=_("Comments blocked")),
]

MANIFEST = register_component(ComponentManifest(
    name="debates",
    label=_("Debates"),
    description=_("Open or time-boxed debates where participants comment in favour, neutral or against."),
    blueprint=bp,
    admin_blueprint=admin_bp,
    global_settings=GLOBAL_SETTINGS,
    step_settings=STEP_SETTINGS,
    actions=["create", "comment"],
    permissions=permissions,
))


def _load_any_debate(organization_id: int, debate_id: int) -> object | None:
    """A debate, hidden by moderation or not (moderation needs the hidden ones)."""
    from decidim_py.db import db

    from .models import Debate

    debate = db.session.get(Debate, debate_id)
    if debate is None or debate.organization_id != organization_id:
        return None
    return debate


def _load_debate(organization_id: int, debate_id: int) -> object | None:
    """A debate that moderation has not hidden."""
    from decidim_py.moderation import is_hidden

    debate = _load_any_debate(organization_id, debate_id)
    return None if debate is None or is_hidden(debate) else debate


def _debate_url(debate: object) -> str:
    from flask import url_for

    component = debate.component  # type: ignore[attr-defined]
    return url_for("debates.show", slug=component.space.slug, component_id=component.id,
                   debate_id=debate.id)  # type: ignore[attr-defined]


def _register_comments() -> None:
    from decidim_py.comments import Commentable, register_commentable

    register_commentable(Commentable("Debate", load=_load_debate, component_of=lambda d: d.component,
                                     url_of=_debate_url))


def _register_moderation_and_notifications() -> None:
    """Debates are reportable and followable; closing one notifies its followers."""
    from decidim_py.moderation.registry import Reportable, register_reportable
    from decidim_py.notifications import Event, Followable, register_event, register_followable

    register_reportable(Reportable("Debate", load=_load_any_debate, component_of=lambda d: d.component,
                                   author_of=lambda d: None if d.official else d.author, url_of=_debate_url,
                                   preview=lambda d: d.title))
    register_followable(Followable("Debate", load=_load_debate, component_of=lambda d: d.component,
                                   url_of=_debate_url, title_of=lambda d: d.title))
    register_event(Event("debates.closed", render=lambda d: _(
        'The debate "%(title)s" was closed: read its conclusions.', title=d.get("title", "")),
        anchor=lambda _d: "conclusions-title"))


_register_comments()
_register_moderation_and_notifications()
