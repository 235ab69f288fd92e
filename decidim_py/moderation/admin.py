"""The moderation screen of a process: reported items, hide / unhide, block / unblock authors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import lazy_gettext as _
from sqlalchemy import func, select

from ..accounts.models import User
from ..admin import admin_required
from ..db import db
from ..permissions import can, require
from ..spaces import space_type
from ..tenancy import current_organization
from ..web import actor, run_form
from . import services
from .forms import JustificationForm
from .models import Moderation, Report
from .registry import reportable_for

bp = Blueprint("moderation_admin", __name__, url_prefix="/admin/processes/<slug>/moderation")
bp.before_request(admin_required)
PER_PAGE = 50


def _process(slug: str) -> Any:
    process = space_type("processes").find_by_slug(current_organization().id, slug)
    if process is None:
        abort(404)
    require(actor(), "moderation.item.manage", process)
    return process


def _moderation(process: Any, moderation_id: int) -> Moderation:
    moderation = db.session.get(Moderation, moderation_id)
    if moderation is None or moderation.space_type != "processes" or moderation.space_id != process.id:
        abort(404)
    return moderation


@bp.get("/")
def index(slug: str) -> Any:
    process = _process(slug)
    which = "hidden" if request.args.get("which") == "hidden" else "reported"
    q = select(Moderation).where(Moderation.space_type == "processes", Moderation.space_id == process.id)
    if which == "hidden":
        q = q.where(Moderation.hidden_at.is_not(None)).order_by(Moderation.hidden_at.desc(), Moderation.id)
    else:
        q = q.where(Moderation.hidden_at.is_(None), Moderation.report_count > 0).order_by(
            Moderation.report_count.desc(), Moderation.id)
    rows = list(db.session.scalars(q.limit(PER_PAGE)))
    reasons: dict[int, dict[str, int]] = {}
    details: dict[int, list[str]] = {}
    if rows:
        ids = [m.id for m in rows]
        for mid, reason, n in db.session.execute(
            select(Report.moderation_id, Report.reason, func.count())
            .where(Report.moderation_id.in_(ids)).group_by(Report.moderation_id, Report.reason)
        ):
            reasons.setdefault(mid, {})[str(reason)] = n
        for mid, text in db.session.execute(
            select(Report.moderation_id, Report.details)
            .where(Report.moderation_id.in_(ids), Report.details.is_not(None))
            .order_by(Report.id)
        ):
            if text:
                details.setdefault(mid, []).append(text)
    items = []
    for m in rows:
        reportable = reportable_for(m.resource_type)
        resource = reportable.load(m.organization_id, m.resource_id) if reportable else None
        items.append({
            "moderation": m,
            "preview": reportable.preview(resource) if resource is not None else "",
            "url": reportable.url_of(resource) if resource is not None else None,
            "author": reportable.author_of(resource) if resource is not None else None,
            "reasons": reasons.get(m.id, {}),
            "details": details.get(m.id, []),
        })
    return render_template("moderation/admin/index.html", process=process, items=items, which=which,
                           may_block=bool(can(actor(), "moderation.user.block", current_organization())))


def _justify(process: Any, title: Any, action: Any, success: Any, context: dict[str, Any]) -> Any:
    form = JustificationForm()
    return run_form(form, lambda: action(form.justification.data), success=success,
                    redirect_to=lambda _r: url_for("moderation_admin.index", slug=process.slug),
                    template="moderation/admin/justify.html", process=process, title=title, **context)


@bp.route("/<int:moderation_id>/hide", methods=["GET", "POST"])
def hide(slug: str, moderation_id: int) -> Any:
    process = _process(slug)
    m = _moderation(process, moderation_id)
    return _justify(process, _("Hide this item"), lambda text: services.hide(actor(), m, text),
                    _("The item is hidden."), {"moderation": m})


@bp.route("/<int:moderation_id>/unhide", methods=["GET", "POST"])
def unhide(slug: str, moderation_id: int) -> Any:
    process = _process(slug)
    m = _moderation(process, moderation_id)
    return _justify(process, _("Show this item again"), lambda text: services.unhide(actor(), m, text),
                    _("The item is shown again."), {"moderation": m})


def _user(process: Any, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.organization_id != process.organization_id:
        abort(404)
    return user


@bp.route("/users/<int:user_id>/block", methods=["GET", "POST"])
def block(slug: str, user_id: int) -> Any:
    process = _process(slug)
    user = _user(process, user_id)
    require(actor(), "moderation.user.block", user)
    return _justify(process, _("Block %(name)s", name=user.name),
                    lambda text: services.block_user(actor(), user, text, space=process),
                    _("The account is blocked."), {"user": user})


@bp.route("/users/<int:user_id>/unblock", methods=["GET", "POST"])
def unblock(slug: str, user_id: int) -> Any:
    process = _process(slug)
    user = _user(process, user_id)
    require(actor(), "moderation.user.unblock", user)
    return _justify(process, _("Unblock %(name)s", name=user.name),
                    lambda text: services.unblock_user(actor(), user, text, space=process),
                    _("The account is unblocked."), {"user": user})
