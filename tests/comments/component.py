"""A test component ("commentboard") whose page includes the comment thread of the component
itself, plus the registration of components as a commentable type (also used for "noticeboard")."""

from __future__ import annotations

from typing import Any

from flask import g, render_template_string, url_for

from decidim_py.comments import Commentable, register_commentable
from decidim_py.components import Component, ComponentManifest, Setting, component_blueprint, register_component
from decidim_py.db import db

bp = component_blueprint("commentboard", __name__)


@bp.get("/")
def index() -> Any:
    return render_template_string(
        "{% extends 'base.html' %}{% block title %}Board{% endblock %}{% block main %}"
        "<h1>{{ resource.name.get('en') }}</h1>{% include 'comments/_thread.html' %}{% endblock %}",
        resource=g.component,
    )


def _load(organization_id: int, component_id: int) -> Component | None:
    component = db.session.get(Component, component_id)
    if component is None or component.organization_id != organization_id:
        return None
    return component


def _url(component: Component) -> str:
    return url_for(f"{component.manifest_name}.index", slug=component.space.slug, component_id=component.id)


register_commentable(Commentable("Component", load=_load, component_of=lambda c: c, url_of=_url))

MANIFEST = register_component(
    ComponentManifest(
        name="commentboard",
        label="Comment board",
        blueprint=bp,
        global_settings=[
            Setting("comments_enabled", "bool", default=True, label="Comments enabled"),
            Setting("comments_alignment", "bool", default=True, label="Comments take a position"),
        ],
        step_settings=[Setting("comments_blocked", "bool", default=False, label="Comments blocked")],
        actions=["comment"],
    )
)
