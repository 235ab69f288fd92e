"""Component framework (DESIGN.md §2): manifests, the registry, mounted components, settings.

A component package calls `register_component(ComponentManifest(...))` when imported. Components
are found through the `COMPONENTS` config list and the `decidim_py.components` entry point group.
A `Component` row mounts a manifest in a space with global settings and per-step settings;
`current_settings` is the active step's settings merged over the step defaults.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, TimestampMixin, db, utcnow
from .errors import InvalidState
from .permissions import require
from .spaces import get_space, space_type_of

SETTING_TYPES = ("bool", "int", "str", "text", "enum", "translated")


@dataclass(frozen=True)
class Setting:
    name: str
    type: str
    default: Any = None
    label: Any = None
    help: Any = None
    choices: tuple[tuple[str, Any], ...] = ()
    min: int | None = None
    max: int | None = None

    def __post_init__(self) -> None:
        if self.type not in SETTING_TYPES:
            raise ValueError(f"unknown setting type {self.type!r}")

    def coerce(self, raw: Any) -> Any:
        """Normalise a stored or submitted value; unknown or bad values fall back to the default."""
        if raw is None:
            return self.default
        if self.type == "bool":
            return bool(raw)
        if self.type == "int":
            try:
                return int(raw)
            except (TypeError, ValueError):
                return self.default
        if self.type == "enum":
            return raw if raw in {c for c, _label in self.choices} else self.default
        if self.type == "translated":
            return dict(raw) if isinstance(raw, dict) else self.default
        return str(raw)


class Settings:
    """Read-only attribute access to settings, with the manifest's defaults filled in."""

    def __init__(self, definitions: list[Setting], values: dict[str, Any] | None) -> None:
        values = values or {}
        self._values = {s.name: s.coerce(values.get(s.name)) for s in definitions}

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


@dataclass
class ComponentManifest:
    name: str
    label: Any
    description: Any = None
    blueprint: Blueprint | None = None
    admin_blueprint: Blueprint | None = None
    global_settings: list[Setting] = field(default_factory=list)
    step_settings: list[Setting] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)  # e.g. ["create", "support"]
    permissions: Callable[[Any, str, Any], Any] | None = None  # a rule of the "component" link
    exports: dict[str, Callable[..., Any]] = field(default_factory=dict)
    log_presenters: dict[str, Callable[..., Any]] = field(default_factory=dict)
    on_publish: Callable[[Any], None] | None = None
    # checks the global settings as a whole before they are saved; raises InvalidState with the reason
    validate_settings: Callable[[dict[str, Any]], None] | None = None


_registry: dict[str, ComponentManifest] = {}


def register_component(manifest: ComponentManifest) -> ComponentManifest:
    existing = _registry.get(manifest.name)
    if existing is not None and existing is not manifest:
        raise ValueError(f"component {manifest.name!r} is already registered")
    _registry[manifest.name] = manifest
    if manifest.permissions is not None:
        from .permissions import rule

        rule("component")(manifest.permissions)
    return manifest


def manifests() -> list[ComponentManifest]:
    return sorted(_registry.values(), key=lambda m: m.name)


def get_manifest(name: str) -> ComponentManifest:
    return _registry[name]


def load_components(app: Flask) -> None:
    """Import the configured component modules and the entry point group, mount their blueprints."""
    for module in app.config.get("COMPONENTS", []):
        importlib.import_module(module)
    for ep in entry_points(group="decidim_py.components"):
        ep.load()
    for manifest in manifests():
        mount_blueprints(app, manifest)


def mount_blueprints(app: Flask, manifest: ComponentManifest) -> None:
    """Mount a component's pages at /processes/<slug>/<manifest name>/<component id>/: the type is in
    the path, so two components with a page at the same path never share a URL rule."""
    if manifest.blueprint is not None and manifest.blueprint.name not in app.blueprints:
        app.register_blueprint(manifest.blueprint,
                               url_prefix=f"/processes/<slug>/{manifest.name}/<int:component_id>")
    if manifest.admin_blueprint is not None and manifest.admin_blueprint.name not in app.blueprints:
        app.register_blueprint(
            manifest.admin_blueprint,
            url_prefix=f"/admin/processes/<slug>/components/{manifest.name}/<int:component_id>",
        )


class Component(TimestampMixin, Base):
    __tablename__ = "components"
    __table_args__ = (Index("ix_components_space", "space_type", "space_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    space_type: Mapped[str] = mapped_column(String(40))
    space_id: Mapped[int] = mapped_column()
    manifest_name: Mapped[str] = mapped_column(String(40))
    name: Mapped[dict[str, Any]] = mapped_column()
    weight: Mapped[int] = mapped_column(default=0)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    step_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    published_at: Mapped[datetime | None] = mapped_column()

    @property
    def manifest(self) -> ComponentManifest:
        return get_manifest(self.manifest_name)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def space(self) -> Any:
        """The component's space, looked up once per component object (a page asks for it a dozen
        times: settings, permissions, URLs) while it is the same row of the same live session."""
        key = (self.space_type, self.space_id)
        hit = self.__dict__.get("_decidim_space")
        if hit is not None and hit[0] == key:
            state = sa_inspect(hit[1])
            if state.persistent and state.session is not None and state.session is db.session():
                return hit[1]
        space = get_space(self.space_type, self.space_id)
        self.__dict__["_decidim_space"] = (key, space)
        return space

    @property
    def global_settings(self) -> Settings:
        return self._settings("global", self.manifest.global_settings, self.settings)

    def settings_for_step(self, step_id: int | None) -> Settings:
        values = (self.step_settings or {}).get(str(step_id)) if step_id is not None else None
        return self._settings(step_id, self.manifest.step_settings, values)

    def _settings(self, slot: Any, definitions: list[Setting], values: dict[str, Any] | None) -> Settings:
        """Settings are read many times a request: made once per component object and stored values
        (a copy of the values is the key, so a change of the stored settings is seen at once)."""
        cache = self.__dict__.setdefault("_decidim_settings", {})
        hit = cache.get(slot)
        if hit is not None and hit[0] == (values or {}):
            return hit[1]
        made = Settings(definitions, values)
        cache[slot] = (copy.deepcopy(values or {}), made)
        return made

    @property
    def current_settings(self) -> Settings:
        """The active step's settings over the defaults (defaults when no step is active)."""
        space = self.space
        step = space_type_of(space).active_step(space)
        return self.settings_for_step(step.id if step is not None else None)


def components_of(space: Any, *, published_only: bool = False) -> list[Component]:
    from sqlalchemy import select

    q = select(Component).where(
        Component.space_type == space_type_of(space).name, Component.space_id == space.id
    )
    if published_only:
        q = q.where(Component.published_at.is_not(None))
    return list(db.session.scalars(q.order_by(Component.weight, Component.id)))


# --- services -------------------------------------------------------------------------------


def add_component(actor: Any, space: Any, manifest_name: str, name: dict[str, str]) -> Component:
    from .transparency import record

    require(actor, "components.component.manage", space)
    if manifest_name not in _registry:
        raise InvalidState(_("Unknown component type."))
    if not any((name or {}).values()):
        raise InvalidState(_("A component needs a name."))
    manifest = _registry[manifest_name]
    weight = len(components_of(space))
    component = Component(
        organization_id=space.organization_id,
        space_type=space_type_of(space).name,
        space_id=space.id,
        manifest_name=manifest_name,
        name=name,
        weight=weight,
        settings=Settings(manifest.global_settings, {}).as_dict(),
        step_settings={},
    )
    db.session.add(component)
    db.session.flush()
    record(actor, "components.component.create", component, component=component,
           changes={"manifest": manifest_name, "name": name})
    return component


def update_component(
    actor: Any,
    component: Component,
    *,
    name: dict[str, str] | None = None,
    global_values: dict[str, Any] | None = None,
    step_values: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Change a component's name and settings; records the change when anything changed."""
    from .transparency import record

    require(actor, "components.component.manage", component)
    manifest = component.manifest
    changes: dict[str, Any] = {}
    if name is not None and name != component.name:
        if not any(name.values()):
            raise InvalidState(_("A component needs a name."))
        changes["name"] = {"from": component.name, "to": name}
        component.name = name
    if global_values is not None:
        new = Settings(manifest.global_settings, {**(component.settings or {}), **global_values})
        if manifest.validate_settings is not None:
            manifest.validate_settings(new.as_dict())
        old = component.global_settings.as_dict()
        diff = {k: {"from": old.get(k), "to": v} for k, v in new.as_dict().items() if old.get(k) != v}
        if diff:
            changes["settings"] = diff
            component.settings = new.as_dict()
    if step_values:
        steps = {s.id for s in space_type_of(component.space).steps(component.space)}
        all_steps = dict(component.step_settings or {})
        for step_id, values in step_values.items():
            if step_id not in steps:
                raise InvalidState(_("This phase does not belong to the component's space."))
            old = component.settings_for_step(step_id).as_dict()
            new = Settings(manifest.step_settings, {**old, **values}).as_dict()
            diff = {k: {"from": old.get(k), "to": v} for k, v in new.items() if old.get(k) != v}
            if diff:
                changes.setdefault("step_settings", {})[str(step_id)] = diff
                all_steps[str(step_id)] = new
        component.step_settings = all_steps
    if changes:
        db.session.flush()
        record(actor, "components.component.update_settings", component, component=component,
               changes=changes)
    return changes


def publish_component(actor: Any, component: Component) -> None:
    from .transparency import record

    require(actor, "components.component.manage", component)
    if component.is_published:
        raise InvalidState(_("This component is already published."))
    component.published_at = utcnow()
    db.session.flush()
    if component.manifest.on_publish is not None:
        component.manifest.on_publish(component)
    record(actor, "components.component.publish", component, component=component)


def unpublish_component(actor: Any, component: Component) -> None:
    from .transparency import record

    require(actor, "components.component.manage", component)
    if not component.is_published:
        raise InvalidState(_("This component is not published."))
    component.published_at = None
    db.session.flush()
    record(actor, "components.component.unpublish", component, component=component)


def _bind_component(bp: Blueprint, manifest_name: str, check: Callable[[Component], None]) -> Blueprint:
    """Before each view of `bp`: load `g.component` and `g.space`, scoped to the request's
    organisation, the space's slug and this manifest (404 otherwise), then run `check`."""
    from flask import abort, g

    from .tenancy import current_organization

    @bp.url_value_preprocessor
    def _load(endpoint: str | None, values: dict[str, Any] | None) -> None:
        values = values if values is not None else {}
        component = db.session.get(Component, values.pop("component_id", 0))
        slug = values.pop("slug", None)
        org = current_organization()
        if (
            component is None
            or component.organization_id != org.id
            or component.manifest_name != manifest_name
        ):
            abort(404)
        space = component.space
        if space is None or getattr(space, "slug", None) != slug:
            abort(404)
        check(component)
        g.component, g.space = component, space

    @bp.url_defaults
    def _defaults(endpoint: str, values: dict[str, Any]) -> None:
        component = g.get("component")
        if component is not None and component.manifest_name == manifest_name:
            values.setdefault("component_id", component.id)
            values.setdefault("slug", g.space.slug)

    return bp


def component_blueprint(manifest_name: str, import_name: str, **kwargs: Any) -> Blueprint:
    """A public blueprint for a component, mounted at /processes/<slug>/<manifest name>/<component_id>/,
    whose views find the component in `g.component` (checked readable by the person)."""
    from .web import actor

    return _bind_component(Blueprint(manifest_name, import_name, **kwargs), manifest_name,
                           lambda component: require(actor(), "components.component.read", component))


def component_admin_blueprint(manifest_name: str, import_name: str, access_action: str, **kwargs: Any) -> Blueprint:
    """The admin blueprint of a component (`<manifest>_admin`), mounted at
    /admin/processes/<slug>/components/<manifest name>/<component_id>/: admin area only, and the
    person must be allowed `access_action` on the component."""
    from .admin import admin_required
    from .web import actor

    bp = Blueprint(f"{manifest_name}_admin", import_name, **kwargs)
    bp.before_request(admin_required)
    return _bind_component(bp, manifest_name, lambda component: require(actor(), access_action, component))
