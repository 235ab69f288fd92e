"""Admin screens for processes: create, edit, publish, phases, roles, members, components, groups."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import lazy_gettext as _
from sqlalchemy import or_, select

from decidim_py.accounts.models import Host, SpaceRole, SpaceRoleName, User
from decidim_py.accounts.roles import (
    ROLE_LABELS,
    administered_host_ids,
    grant_space_role,
    revoke_space_role,
)
from decidim_py.admin import admin_required
from decidim_py.components import (
    Component,
    add_component,
    components_of,
    manifests,
    publish_component,
    unpublish_component,
    update_component,
)
from decidim_py.db import db
from decidim_py.errors import InvalidState
from decidim_py.forms import choices, settings_form, settings_values
from decidim_py.i18n import translated
from decidim_py.permissions import can, require
from decidim_py.tenancy import current_organization
from decidim_py.web import actor, form_page, run_action, run_form, see_other

from . import services
from .forms import ComponentForm, GroupForm, MemberForm, ProcessForm, ReasonForm, RoleForm, StepForm
from .models import Process, ProcessGroup, ProcessMember, ProcessStep

bp = Blueprint("processes_admin", __name__, url_prefix="/admin/processes")
bp.before_request(admin_required)


def _process(slug: str) -> Process:
    org = current_organization()
    process = db.session.scalar(
        select(Process).where(Process.organization_id == org.id, Process.slug == slug)
    )
    if process is None:
        abort(404)
    require(actor(), "processes.process.manage", process)
    return process


def _step(process: Process, step_id: int) -> ProcessStep:
    step = db.session.get(ProcessStep, step_id)
    if step is None or step.process_id != process.id:
        abort(404)
    return step


def _component(process: Process, component_id: int) -> Component:
    component = db.session.get(Component, component_id)
    if component is None or component.space_type != "processes" or component.space_id != process.id:
        abort(404)
    return component


def _host_choices(form: ProcessForm) -> None:
    org, user = current_organization(), actor()
    q = select(Host).where(Host.organization_id == org.id).order_by(Host.slug)
    if not user.is_admin:
        q = q.where(Host.id.in_(administered_host_ids(user) or [-1]))
    hosts = db.session.scalars(q).all()
    pairs = [(h.id, translated(h.name)) for h in hosts]
    if user.is_admin:
        pairs.insert(0, (0, _("The organisation itself")))
    form.host_id.choices = choices(pairs)
    groups = db.session.scalars(
        select(ProcessGroup).where(ProcessGroup.organization_id == org.id).order_by(ProcessGroup.id)
    ).all()
    form.group_id.choices = choices([(0, str(_("No group")))] + [(g.id, translated(g.title)) for g in groups])


@bp.get("/")
def index() -> Any:
    org, user = current_organization(), actor()
    q = select(Process).where(Process.organization_id == org.id)
    if not user.is_admin:
        managed = select(SpaceRole.space_id).where(
            SpaceRole.user_id == user.id, SpaceRole.space_type == "processes",
            SpaceRole.role == SpaceRoleName.ADMIN,
        )
        q = q.where(or_(Process.id.in_(managed),
                        Process.host_id.in_(administered_host_ids(user) or [-1])))
    processes = db.session.scalars(q.order_by(Process.id.desc())).all()
    can_create = bool(user.is_admin or administered_host_ids(user))
    return render_template("admin/processes/index.html", processes=processes, can_create=can_create)


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    form = ProcessForm()
    _host_choices(form)
    if not form.host_id.choices:
        require(actor(), "processes.process.create", current_organization())
    return run_form(
        form,
        lambda: services.create_process(actor(), current_organization(), form.to_data()),
        success=_("Process created. Add its phases, then publish it."),
        redirect_to=lambda p: url_for(".steps", slug=p.slug),
        template="admin/processes/form.html",
        process=None,
    )


@bp.route("/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str) -> Any:
    process = _process(slug)
    form = ProcessForm(obj=process)
    if request.method == "GET":
        form.host_id.data = process.host_id or 0
        form.group_id.data = process.group_id or 0
    _host_choices(form)
    if process.host_id is not None and process.host_id not in {c.value for c in form.host_id.choices}:
        form.host_id.choices += choices([(process.host_id, translated(process.host.name))])
    return run_form(
        form,
        lambda: services.update_process(actor(), process, form.to_data()) or process,
        success=_("Process saved."),
        redirect_to=lambda _r: url_for(".edit", slug=form.slug.data),
        template="admin/processes/form.html",
        process=process,
        reason_form=ReasonForm(formdata=None),
    )


@bp.post("/<slug>/publish")
def publish(slug: str) -> Any:
    process = _process(slug)
    ReasonForm().validate_on_submit() or abort(400)
    return run_action(lambda: services.publish_process(actor(), process),
                      success=_("Process published."), redirect_to=url_for(".edit", slug=slug))


@bp.post("/<slug>/unpublish")
def unpublish(slug: str) -> Any:
    process = _process(slug)
    form = ReasonForm()
    form.validate_on_submit() or abort(400)
    return run_action(lambda: services.unpublish_process(actor(), process, form.reason.data or None),
                      success=_("Process unpublished."), redirect_to=url_for(".edit", slug=slug))


# --- phases ---------------------------------------------------------------------------------


@bp.get("/<slug>/steps")
def steps(slug: str) -> Any:
    process = _process(slug)
    return render_template("admin/processes/steps.html", process=process,
                           button_form=ReasonForm(formdata=None))


@bp.route("/<slug>/steps/new", methods=["GET", "POST"])
def new_step(slug: str) -> Any:
    process = _process(slug)
    form = StepForm()
    return run_form(
        form, lambda: services.add_step(actor(), process, form.to_data()),
        success=_("Phase added."), redirect_to=lambda _s: url_for(".steps", slug=slug),
        template="admin/processes/step_form.html", process=process, step=None,
    )


@bp.route("/<slug>/steps/<int:step_id>/edit", methods=["GET", "POST"])
def edit_step(slug: str, step_id: int) -> Any:
    process = _process(slug)
    step = _step(process, step_id)
    form = StepForm(obj=step)
    return run_form(
        form, lambda: services.update_step(actor(), step, form.to_data()),
        success=_("Phase saved."), redirect_to=lambda _s: url_for(".steps", slug=slug),
        template="admin/processes/step_form.html", process=process, step=step,
    )


@bp.post("/<slug>/steps/<int:step_id>/activate")
def activate_step(slug: str, step_id: int) -> Any:
    process = _process(slug)
    step = _step(process, step_id)
    form = ReasonForm()
    form.validate_on_submit() or abort(400)
    return run_action(lambda: services.activate_step(actor(), step, form.reason.data or None),
                      success=_("Phase activated."), redirect_to=url_for(".steps", slug=slug))


@bp.post("/<slug>/steps/<int:step_id>/move")
def move_step(slug: str, step_id: int) -> Any:
    process = _process(slug)
    step = _step(process, step_id)
    ReasonForm().validate_on_submit() or abort(400)
    offset = -1 if request.form.get("direction") == "up" else 1
    return run_action(lambda: services.move_step(actor(), step, offset),
                      success=_("Phase moved."), redirect_to=url_for(".steps", slug=slug))


@bp.post("/<slug>/steps/<int:step_id>/delete")
def delete_step(slug: str, step_id: int) -> Any:
    process = _process(slug)
    step = _step(process, step_id)
    ReasonForm().validate_on_submit() or abort(400)
    return run_action(lambda: services.delete_step(actor(), step),
                      success=_("Phase deleted."), redirect_to=url_for(".steps", slug=slug))


# --- roles and members ----------------------------------------------------------------------


def _user_by_nickname(nickname: str) -> User:
    user = db.session.scalar(
        select(User).where(
            User.organization_id == current_organization().id,
            User.nickname == nickname.strip().lstrip("@"),
            User.deleted_at.is_(None),
        )
    )
    if user is None:
        raise InvalidState(_("Nobody has this nickname in this organisation."))
    return user


@bp.route("/<slug>/roles", methods=["GET", "POST"])
def roles(slug: str) -> Any:
    process = _process(slug)
    form = RoleForm()
    form.role.choices = choices([(r.value, str(label)) for r, label in ROLE_LABELS.items()])
    rows = db.session.scalars(
        select(SpaceRole).where(SpaceRole.space_type == "processes", SpaceRole.space_id == process.id)
        .order_by(SpaceRole.id)
    ).all()
    return run_form(
        form,
        lambda: grant_space_role(actor(), process, _user_by_nickname(form.nickname.data),
                                 SpaceRoleName(form.role.data)),
        success=_("Role granted."), redirect_to=lambda _r: url_for(".roles", slug=slug),
        template="admin/processes/roles.html", process=process, rows=rows,
        role_labels=ROLE_LABELS, button_form=ReasonForm(formdata=None),
    )


@bp.post("/<slug>/roles/<int:role_id>/revoke")
def revoke_role(slug: str, role_id: int) -> Any:
    process = _process(slug)
    row = db.session.get(SpaceRole, role_id)
    if row is None or row.space_type != "processes" or row.space_id != process.id:
        abort(404)
    ReasonForm().validate_on_submit() or abort(400)
    return run_action(lambda: revoke_space_role(actor(), row), success=_("Role revoked."),
                      redirect_to=url_for(".roles", slug=slug))


@bp.route("/<slug>/members", methods=["GET", "POST"])
def members(slug: str) -> Any:
    process = _process(slug)
    form = MemberForm()
    return run_form(
        form, lambda: services.add_member(actor(), process, _user_by_nickname(form.nickname.data)),
        success=_("Member added."), redirect_to=lambda _m: url_for(".members", slug=slug),
        template="admin/processes/members.html", process=process,
        button_form=ReasonForm(formdata=None),
    )


@bp.post("/<slug>/members/<int:member_id>/remove")
def remove_member(slug: str, member_id: int) -> Any:
    process = _process(slug)
    member = db.session.get(ProcessMember, member_id)
    if member is None or member.process_id != process.id:
        abort(404)
    ReasonForm().validate_on_submit() or abort(400)
    return run_action(lambda: services.remove_member(actor(), member), success=_("Member removed."),
                      redirect_to=url_for(".members", slug=slug))


# --- components -----------------------------------------------------------------------------


@bp.get("/<slug>/components")
def components(slug: str) -> Any:
    process = _process(slug)
    return render_template("admin/processes/components.html", process=process,
                           components=components_of(process),
                           button_form=ReasonForm(formdata=None))


@bp.route("/<slug>/components/new", methods=["GET", "POST"])
def new_component(slug: str) -> Any:
    process = _process(slug)
    form = ComponentForm()
    form.manifest_name.choices = choices([(m.name, str(m.label)) for m in manifests()])
    return run_form(
        form, lambda: add_component(actor(), process, form.manifest_name.data, form.name.data),
        success=_("Component added. Review its settings, then publish it."),
        redirect_to=lambda c: url_for(".edit_component", slug=slug, component_id=c.id),
        template="admin/processes/component_new.html", process=process,
    )


@bp.route("/<slug>/components/<int:component_id>/edit", methods=["GET", "POST"])
def edit_component(slug: str, component_id: int) -> Any:
    process = _process(slug)
    component = _component(process, component_id)
    manifest = component.manifest
    form = ComponentForm(data={"name": component.name, "manifest_name": component.manifest_name})
    del form.manifest_name
    global_form = settings_form(manifest.global_settings, component.global_settings.as_dict(), "global")
    step_forms = [
        (step, settings_form(manifest.step_settings, component.settings_for_step(step.id).as_dict(),
                             f"step-{step.id}"))
        for step in process.steps
    ]
    context = dict(process=process, component=component, global_form=global_form,
                   step_forms=step_forms, button_form=ReasonForm(formdata=None))
    if request.method == "POST":
        valid = form.validate_on_submit() & global_form.validate()
        valid = all([sf.validate() for _s, sf in step_forms]) and valid
        if valid:
            try:
                update_component(
                    actor(), component, name=form.name.data,
                    global_values=settings_values(global_form, manifest.global_settings),
                    step_values={s.id: settings_values(sf, manifest.step_settings)
                                 for s, sf in step_forms},
                )
            except InvalidState as exc:
                form.form_errors.append(str(exc.message))
                return render_template("admin/processes/component_edit.html", form=form,
                                       **context), 409
            from flask import flash

            flash(str(_("Component saved.")), "success")
            return see_other(url_for(".edit_component", slug=slug, component_id=component.id))
        errors_present = True
    else:
        errors_present = False
    body = render_template("admin/processes/component_edit.html", form=form, **context)
    return body, 422 if errors_present else 200


@bp.post("/<slug>/components/<int:component_id>/publish")
def publish_component_view(slug: str, component_id: int) -> Any:
    process = _process(slug)
    component = _component(process, component_id)
    ReasonForm().validate_on_submit() or abort(400)
    return run_action(lambda: publish_component(actor(), component),
                      success=_("Component published."), redirect_to=url_for(".components", slug=slug))


@bp.post("/<slug>/components/<int:component_id>/unpublish")
def unpublish_component_view(slug: str, component_id: int) -> Any:
    process = _process(slug)
    component = _component(process, component_id)
    ReasonForm().validate_on_submit() or abort(400)
    return run_action(lambda: unpublish_component(actor(), component),
                      success=_("Component unpublished."), redirect_to=url_for(".components", slug=slug))


# --- groups ---------------------------------------------------------------------------------


@bp.get("/groups")
def groups() -> Any:
    org = current_organization()
    require(actor(), "processes.group.manage", org)
    rows = db.session.scalars(
        select(ProcessGroup).where(ProcessGroup.organization_id == org.id).order_by(ProcessGroup.id)
    ).all()
    return render_template("admin/processes/groups.html", groups=rows)


@bp.route("/groups/new", methods=["GET", "POST"])
@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
def edit_group(group_id: int | None = None) -> Any:
    org = current_organization()
    require(actor(), "processes.group.manage", org)
    group = None
    if group_id is not None:
        group = db.session.get(ProcessGroup, group_id)
        if group is None or group.organization_id != org.id:
            abort(404)
    form = GroupForm(obj=group)
    return run_form(
        form, lambda: services.save_group(actor(), org, form.title.data, form.description.data, group),
        success=_("Group saved."), redirect_to=lambda _g: url_for(".groups"),
        template="admin/processes/group_form.html", group=group,
    )


def can_manage(process: Process) -> bool:
    return bool(can(actor(), "processes.process.manage", process))


__all__ = ["bp", "form_page"]


# --- eligibility requirements of component actions ----------------------------------------------


@bp.route("/<slug>/components/<int:component_id>/permissions", methods=["GET", "POST"])
def component_permissions(slug: str, component_id: int) -> Any:
    from decidim_py.identity.eligibility import (
        ACTION_LABELS,
        LEVEL_LABELS,
        RequirementData,
        requirement_for,
        set_requirement,
    )
    from decidim_py.identity.forms import RequirementForm
    from decidim_py.identity.models import Assurance

    process = _process(slug)
    component = _component(process, component_id)
    org = current_organization()
    zone_choices = [("", _("Any zone"))] + [(z, translated(v.get("name")) or z) for z, v in (org.zones or {}).items()]
    forms = []
    for verb in component.manifest.actions:
        req = requirement_for(component, verb)
        data = {"level": str(req.level) if req else "low", "resident": req.resident if req else False,
                "zone": (req.zone or "") if req else "", "min_age": req.min_age if req else None,
                "person_key": req.person_key if req else False,
                "allow_low_assurance_person_key": req.allow_low_assurance_person_key if req else False}
        form = RequirementForm(prefix=verb, data=data)
        form.level.choices = choices((lv.value, LEVEL_LABELS[lv]) for lv in Assurance)
        form.zone.choices = choices(zone_choices)
        forms.append((verb, form))
    csrf_form = ReasonForm()
    if request.method == "POST":
        valid = csrf_form.validate_on_submit()
        valid = all([f.validate() for _v, f in forms]) and valid
        if valid:
            for verb, form in forms:
                set_requirement(actor(), component, verb, RequirementData(
                    level=Assurance(form.level.data), resident=bool(form.resident.data),
                    zone=form.zone.data or None, min_age=form.min_age.data,
                    person_key=bool(form.person_key.data),
                    allow_low_assurance_person_key=bool(form.allow_low_assurance_person_key.data)))
            from flask import flash

            flash(str(_("Permissions saved.")), "success")
            return see_other(url_for(".component_permissions", slug=slug, component_id=component.id))
    body = render_template("admin/processes/component_permissions.html", process=process, component=component,
                           forms=forms, action_labels=ACTION_LABELS)
    return body, 422 if request.method == "POST" else 200
