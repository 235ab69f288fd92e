"""Admin screens of a debates component: list, new official debate, edit, information updates, close.

Mounted at /admin/processes/<slug>/components/debates/<component_id>.
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, render_template, request, url_for
from flask_babel import lazy_gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from decidim_py.components import component_admin_blueprint
from decidim_py.db import db
from decidim_py.permissions import can
from decidim_py.web import actor, run_form

from . import services
from .forms import CloseForm, DebateForm, UpdateForm
from .models import Debate

bp = component_admin_blueprint("debates", __name__, "debates.admin.access")
PER_PAGE = 50


def _debate(debate_id: int) -> Debate:
    debate = db.session.get(Debate, debate_id)
    if debate is None or debate.component_id != g.component.id:
        abort(404)
    return debate


@bp.get("/")
def index() -> Any:
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    rows = list(db.session.scalars(
        select(Debate).where(Debate.component_id == g.component.id).options(joinedload(Debate.author))
        .order_by(Debate.id.desc()).limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)))
    return render_template("debates/admin/index.html", component=g.component, space=g.space,
                           rows=rows[:PER_PAGE], page=page, has_next=len(rows) > PER_PAGE)


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    form = DebateForm()
    return run_form(
        form, lambda: services.create_debate(actor(), g.component, form.to_data(), official=True),
        success=_("Debate created."), redirect_to=lambda d: url_for(".manage", debate_id=d.id),
        template="debates/admin/form.html", component=g.component, space=g.space, debate=None,
    )


def _manage_page(debate: Debate, status: int = 200, **forms: Any) -> Any:
    user = actor()
    context = {
        "edit_form": forms.get("edit_form") or DebateForm(formdata=None, debate=debate),
        "update_form": forms.get("update_form") or UpdateForm(formdata=None),
        "close_form": forms.get("close_form") or CloseForm(formdata=None),
    }
    return render_template(
        "debates/admin/manage.html", component=g.component, space=g.space, debate=debate,
        edit=can(user, "debates.debate.edit", debate), close=can(user, "debates.debate.close", debate),
        add_update=can(user, "debates.debate.add_update", debate), **context,
    ), status


@bp.get("/<int:debate_id>")
def manage(debate_id: int) -> Any:
    return _manage_page(_debate(debate_id))


def _post(debate: Debate, form: Any, key: str, action: Any, success: Any) -> Any:
    """Validate one of the manage page's forms and run its service; re-render the page otherwise."""
    from flask import flash

    from decidim_py.errors import InvalidState
    from decidim_py.web import see_other

    if form.validate_on_submit():
        try:
            action()
        except InvalidState as exc:
            form.form_errors.append(str(exc.message))
            return _manage_page(debate, 409, **{key: form})
        flash(str(success), "success")
        return see_other(url_for(".manage", debate_id=debate.id))
    return _manage_page(debate, 422, **{key: form})


@bp.post("/<int:debate_id>/edit")
def edit(debate_id: int) -> Any:
    debate = _debate(debate_id)
    form = DebateForm()
    return _post(debate, form, "edit_form", lambda: services.update_debate(actor(), debate, form.to_data()),
                 _("Debate saved."))


@bp.post("/<int:debate_id>/updates")
def add_update(debate_id: int) -> Any:
    debate = _debate(debate_id)
    form = UpdateForm()
    return _post(debate, form, "update_form", lambda: services.add_update(actor(), debate, form.body.data),
                 _("Information update added."))


@bp.post("/<int:debate_id>/close")
def close(debate_id: int) -> Any:
    debate = _debate(debate_id)
    form = CloseForm()
    return _post(debate, form, "close_form",
                 lambda: services.close_debate(actor(), debate, form.conclusions.data), _("Debate closed."))
