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


def _load_debate(organization_id: int, debate_id: int) -> object | None:
    from decidim_py.db import db

    from .models import Debate

    debate = db.session.get(Debate, debate_id)
    if debate is None or debate.organization_id != organization_id:
        return None
    return debate


def _debate_url(debate: object) -> str:
    from flask import url_for

    component = debate.component  # type: ignore[attr-defined]
    return url_for("debates.show", slug=component.space.slug, component_id=component.id,
                   debate_id=debate.id)  # type: ignore[attr-defined]


def _register_comments() -> None:
    from decidim_py.comments import Commentable, register_commentable

    register_commentable(Commentable("Debate", load=_load_debate, component_of=lambda d: d.component,
                                     url_of=_debate_url))


_register_comments()
