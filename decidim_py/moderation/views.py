"""Reporting an item: a page with the form (works without JavaScript), 303 back to the item."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request
from flask_babel import lazy_gettext as _

from ..permissions import require
from ..tenancy import current_organization
from ..web import actor, run_form, safe_next
from . import services
from .forms import ReportForm
from .registry import is_hidden, reportable_for

bp = Blueprint("moderation", __name__, url_prefix="/moderation")


@bp.route("/report/<resource_type>/<int:resource_id>", methods=["GET", "POST"])
def report(resource_type: str, resource_id: int) -> Any:
    reportable = reportable_for(resource_type)
    if reportable is None:
        abort(404)
    resource = reportable.load(current_organization().id, resource_id)
    if resource is None or is_hidden(resource):
        abort(404)
    require(actor(), "moderation.report.create", resource)
    back = reportable.url_of(resource)
    form = ReportForm(data={"next": request.args.get("next", "")} if request.method == "GET" else None)

    def redirect_to(_report: Any) -> str:
        target = safe_next(form.next.data, back)
        anchor = back.split("#", 1)[1] if "#" in back else ""
        return f"{target.split('#', 1)[0]}#{anchor}" if anchor else target

    return run_form(
        form,
        lambda: services.report(actor(), resource, form.reason.data, form.details.data),
        success=_("Thank you: the moderators will look at your report."),
        redirect_to=redirect_to,
        template="moderation/report.html",
        preview=reportable.preview(resource),
        back=back,
    )
