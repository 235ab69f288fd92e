"""Core admin area: dashboard, the decision log, hosts and their members."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import lazy_gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from .accounts.models import Host, HostKind, HostMembership, HostRole, SpaceRole, User
from .accounts.roles import (
    HOST_ROLE_LABELS,
    add_host_member,
    administered_host_ids,
    has_any_space_role,
    remove_host_member,
)
from .db import db
from .errors import InvalidState
from .forms import TranslatedField, choices
from .permissions import allow, deny, require, rule, signed_in
from .tenancy import current_organization
from .transparency import DecisionRecord, records_for_admin
from .web import actor, run_action, run_form

bp = Blueprint("admin", __name__, url_prefix="/admin")


@rule("core")
def admin_access_rule(user: Any, action: str, subject: Any) -> Any:
    if action not in {"admin.access", "admin.log.read"} or not signed_in(user) or user.is_admin:
        return None
    if administered_host_ids(user) or (action == "admin.access" and user.is_user_manager):
        return allow()
    if has_any_space_role(user):
        return allow()
    return deny(_("The admin area is for administrators."), "not_admin")


def admin_required() -> None:
    if not current_user.is_authenticated:
        require(None, "admin.access", current_organization())
    require(current_user._get_current_object(), "admin.access", current_organization())


bp.before_request(admin_required)


@bp.get("/")
def dashboard() -> Any:
    return render_template("admin/dashboard.html")


@bp.get("/log")
def log() -> Any:
    """The admin log: every visibility for organisation admins; others see their spaces only."""
    org, user = current_organization(), actor()
    require(user, "admin.log.read", org)
    if user.is_admin:
        q = records_for_admin(org.id, action_prefix=request.args.get("action") or None)
    else:
        from .spaces import space_type

        # Spaces this person administers (via a space role or a host).
        ids = set(db.session.scalars(select(SpaceRole.space_id).where(
            SpaceRole.user_id == user.id, SpaceRole.space_type == "processes")))
        hosts = administered_host_ids(user)
        if hosts:
            model = space_type("processes").model
            ids |= set(db.session.scalars(select(model.id).where(model.host_id.in_(hosts))))
        q = records_for_admin(org.id, space_type="processes", space_ids=sorted(ids),
                              action_prefix=request.args.get("action") or None)
    try:
        page_no = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page_no = 1
    per_page = 50
    rows = db.session.scalars(q.limit(per_page + 1).offset((page_no - 1) * per_page)).all()
    from .transparency.models import LogEntry

    ids = [r.id for r in rows[:per_page]]
    indexes = dict(db.session.execute(select(LogEntry.record_id, LogEntry.index).where(
        LogEntry.record_id.in_(ids))).all()) if ids else {}
    return render_template("admin/log.html", records=rows[:per_page], page=page_no, indexes=indexes,
                           has_next=len(rows) > per_page, action=request.args.get("action", ""))


def record_summary(entry: DecisionRecord) -> str:
    return entry.action


# --- hosts ----------------------------------------------------------------------------------


class HostForm(FlaskForm):
    name = TranslatedField(_("Name"), required=True, max_length=200)
    slug = StringField(_("Short name"), validators=[
        DataRequired(message=_("Please fill this in.")),
        Regexp(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$",
               message=_("Use 3 to 80 lower-case letters, digits or hyphens."))])
    kind = SelectField(_("Kind"), choices=[])


class HostMemberForm(FlaskForm):
    nickname = StringField(_("Nickname of the person"), validators=[
        DataRequired(message=_("Please fill this in.")), Length(max=40)])
    role = SelectField(_("Role"), choices=[])


HOST_KIND_LABELS = {HostKind.DEPARTMENT: _("City department"),
                    HostKind.COMMUNITY: _("Community organisation")}


@rule("core")
def host_manage_rule(user: Any, action: str, subject: Any) -> Any:
    if action == "hosts.host.manage" and signed_in(user) and not user.is_admin:
        return deny(_("Only organisation administrators can manage hosts."), "not_admin")
    return None


def create_host(user: Any, org: Any, slug: str, name: dict[str, str], kind: HostKind) -> Host:
    from .transparency import record

    require(user, "hosts.host.manage", org)
    if db.session.scalar(select(Host.id).where(Host.organization_id == org.id, Host.slug == slug)):
        raise InvalidState(_("Another host already uses this short name."))
    host = Host(organization_id=org.id, slug=slug, name=name, kind=kind)
    db.session.add(host)
    db.session.flush()
    record(user, "hosts.host.create", host, changes={"slug": slug, "name": name, "kind": str(kind)})
    return host


def _host(slug: str) -> Host:
    org = current_organization()
    host = db.session.scalar(select(Host).where(Host.organization_id == org.id, Host.slug == slug))
    if host is None:
        abort(404)
    return host


@bp.get("/hosts")
def hosts() -> Any:
    org, user = current_organization(), actor()
    q = select(Host).where(Host.organization_id == org.id).order_by(Host.slug)
    if not user.is_admin:
        q = q.where(Host.id.in_(administered_host_ids(user) or [-1]))
    return render_template("admin/hosts.html", hosts=db.session.scalars(q).all(),
                           kind_labels=HOST_KIND_LABELS)


@bp.route("/hosts/new", methods=["GET", "POST"])
def new_host() -> Any:
    org = current_organization()
    require(actor(), "hosts.host.manage", org)
    form = HostForm()
    form.kind.choices = choices([(k.value, str(v)) for k, v in HOST_KIND_LABELS.items()])
    return run_form(
        form, lambda: create_host(actor(), org, form.slug.data, form.name.data, HostKind(form.kind.data)),
        success=_("Host created."), redirect_to=lambda h: url_for(".host_members", slug=h.slug),
        template="admin/host_form.html",
    )


@bp.route("/hosts/<slug>/members", methods=["GET", "POST"])
def host_members(slug: str) -> Any:
    host = _host(slug)
    require(actor(), "hosts.member.manage", host)
    form = HostMemberForm()
    form.role.choices = choices([(r.value, str(v)) for r, v in HOST_ROLE_LABELS.items()])

    def add() -> HostMembership:
        user = db.session.scalar(select(User).where(
            User.organization_id == host.organization_id,
            User.nickname == form.nickname.data.strip().lstrip("@")))
        if user is None:
            raise InvalidState(_("Nobody has this nickname in this organisation."))
        return add_host_member(actor(), host, user, HostRole(form.role.data))

    return run_form(
        form, add, success=_("Member saved."),
        redirect_to=lambda _m: url_for(".host_members", slug=slug),
        template="admin/host_members.html", host=host, role_labels=HOST_ROLE_LABELS,
        button_form=FlaskForm(formdata=None),
    )


@bp.post("/hosts/<slug>/members/<int:membership_id>/remove")
def remove_host_member_view(slug: str, membership_id: int) -> Any:
    host = _host(slug)
    membership = db.session.get(HostMembership, membership_id)
    if membership is None or membership.host_id != host.id:
        abort(404)
    FlaskForm().validate_on_submit() or abort(400)
    return run_action(lambda: remove_host_member(actor(), membership), success=_("Member removed."),
                      redirect_to=url_for(".host_members", slug=slug))
