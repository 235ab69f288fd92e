"""A component defined in the tests ("noticeboard"), proving the component framework end to end:
manifest registration, a public blueprint mounted in a process, global and per-phase settings,
admin forms generated from the manifest, and a component permission rule reading current_settings."""

from __future__ import annotations

from typing import Any

from flask import g, render_template_string

from decidim_py.components import ComponentManifest, Setting, component_blueprint, register_component
from decidim_py.permissions import Verdict, allow, deny

bp = component_blueprint("noticeboard", __name__)


@bp.get("/")
def index() -> Any:
    component = g.component
    s = component.current_settings
    return render_template_string(
        "{% extends 'base.html' %}{% block title %}Noticeboard{% endblock %}{% block main %}"
        "<h1>{{ name }}</h1><p id='limit'>limit={{ limit }}</p><p id='posting'>posting={{ posting }}</p>"
        "{% endblock %}",
        name=component.name.get("en"), limit=component.global_settings.notice_limit,
        posting=s.posting_enabled,
    )


def permissions(user: Any, action: str, subject: Any) -> Verdict | None:
    if action != "noticeboard.notice.create":
        return None
    if not subject.current_settings.posting_enabled:
        return deny("Posting is not open in this phase.", "phase_closed")
    return allow()


MANIFEST = register_component(
    ComponentManifest(
        name="noticeboard",
        label="Noticeboard",
        blueprint=bp,
        global_settings=[
            Setting("notice_limit", "int", default=3, label="Notices per person", min=0, max=50),
            Setting("intro", "translated", default={}, label="Introduction"),
            Setting("order", "enum", default="recent", label="Order",
                    choices=(("recent", "Recent"), ("random", "Random"))),
        ],
        step_settings=[
            Setting("posting_enabled", "bool", default=False, label="Posting enabled"),
            Setting("banner", "str", default="", label="Banner"),
        ],
        actions=["create"],
        permissions=permissions,
    )
)
