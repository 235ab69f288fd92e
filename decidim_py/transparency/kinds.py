"""The registered kinds of public record entries, each with a schema and a version.

Every entry shares one envelope (v1). A kind is registered once, with the version of its schema;
`record()` refuses an unregistered kind, so nothing reaches the log without a schema. The log-info
document publishes these schemas so that independent verifiers can check every entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _

ENVELOPE_V1: dict[str, Any] = {
    "required": ["kind", "schema", "at", "actor", "subject", "space", "component", "content_sha256",
                 "visibility", "supersedes"],
    "properties": {
        "kind": {"type": "string"},
        "schema": {"type": "integer"},
        "at": {"type": "string"},  # RFC 3339, UTC, seconds: 2026-12-01T20:00:00Z
        "actor": {"type": ["object", "null"]},  # {"role": str, "pseudonym": str | null}; null: system
        "subject": {"type": "object"},  # {"type": str, "id": int} or {"type": str, "commitment": hex}
        "space": {"type": ["object", "null"]},  # {"type": "processes", "id": int}
        "component": {"type": ["integer", "null"]},
        "content_sha256": {"type": "string"},  # SHA-256 of the RFC 8785 form of the public content
        "visibility": {"type": "string"},  # public | admin | private (content shown only if public)
        "supersedes": {"type": ["integer", "null"]},  # index of the entry this one replaces
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Kind:
    name: str
    label: Any
    version: int = 1
    schema: dict[str, Any] | None = None

    def as_schema(self) -> dict[str, Any]:
        return {"version": self.version, **(self.schema or ENVELOPE_V1)}


_kinds: dict[str, Kind] = {}


def register_kind(name: str, label: Any, version: int = 1, schema: dict[str, Any] | None = None) -> Kind:
    kind = Kind(name, label, version, schema)
    existing = _kinds.get(name)
    if existing is not None and existing.version != version:
        raise ValueError(f"kind {name} already registered with version {existing.version}")
    _kinds[name] = kind
    return kind


def get_kind(name: str) -> Kind:
    try:
        return _kinds[name]
    except KeyError:
        raise LookupError(f"decision kind {name!r} has no registered schema") from None


def kinds() -> list[Kind]:
    return sorted(_kinds.values(), key=lambda k: k.name)


CORE_KINDS = {
    "processes.process.create": _("Process created"),
    "processes.process.update": _("Process changed"),
    "processes.process.publish": _("Process published"),
    "processes.process.unpublish": _("Process unpublished"),
    "processes.step.create": _("Phase added"),
    "processes.step.update": _("Phase changed"),
    "processes.step.delete": _("Phase deleted"),
    "processes.step.reorder": _("Phases reordered"),
    "processes.step.activate": _("Phase activated"),
    "processes.member.add": _("Member added to a private process"),
    "processes.member.remove": _("Member removed from a private process"),
    "processes.group.create": _("Process group created"),
    "processes.group.update": _("Process group changed"),
    "components.component.create": _("Component added"),
    "components.component.update_settings": _("Component settings changed"),
    "components.component.publish": _("Component published"),
    "components.component.unpublish": _("Component unpublished"),
    "spaces.role.grant": _("Role granted"),
    "spaces.role.revoke": _("Role revoked"),
    "hosts.host.create": _("Host created"),
    "hosts.member.grant": _("Host role granted"),
    "hosts.member.revoke": _("Host role revoked"),
    "organization.admin.grant": _("Organisation admin role granted"),
    "organization.admin.revoke": _("Organisation admin role revoked"),
    "organization.user_manager.grant": _("User manager role granted"),
    "organization.user_manager.revoke": _("User manager role revoked"),
    "eligibility.requirement.update": _("Eligibility requirements changed"),
    "identity.provider.create": _("Identity provider added"),
    "identity.provider.update": _("Identity provider changed"),
    "identity.residence.update": _("Residence settings changed"),
    "identity.conflict.open": _("Identity conflict detected"),
    "identity.conflict.transfer": _("Identity verification transferred"),
    "identity.managed.create": _("Managed participant created"),
    "identity.managed.claim": _("Managed participant claimed their account"),
    "identity.impersonation.start": _("Impersonation started"),
    "identity.impersonation.end": _("Impersonation ended"),
    "moderation.hide": _("Content hidden"),
    "moderation.unhide": _("Content shown again"),
    "moderation.block": _("Account blocked"),
    "moderation.unblock": _("Account unblocked"),
    "log.key_rotated": _("Log signing key rotated"),
    "log.redaction": _("Personal data erased"),
}
for _name, _label in CORE_KINDS.items():
    register_kind(_name, _label)
