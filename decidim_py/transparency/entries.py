"""Building the public entry of a decision: no free text and no personal data.

- Content is referenced by `content_sha256`, the SHA-256 of the RFC 8785 form of the decision's
  public content (its changes and reason when the decision is public; nothing otherwise). The text
  itself stays in the normal tables, where the decision page shows it next to its hash.
- Officials appear as their role and a per-user pseudonym (HMAC of the account id with the
  organisation's pseudonym key); participants never appear. Where an entry must bind a person (a
  managed participant, a blocked account), it holds a salted commitment whose opening lives in
  `transparency_openings`, a table erasure may delete.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC
from typing import Any

from .canonical import canonical_json
from .kinds import get_kind
from .models import DecisionRecord, LogOpening, Visibility

PERSONAL_SUBJECTS = {"User"}
OFFICIAL_KINDS = ("organization.",)  # kinds whose User subject is an official (shown by pseudonym)


def pseudonym(organization_id: int, user_id: int) -> str:
    from ..identity.keys import _derive

    return hmac.new(_derive("identity", organization_id), f"pseudonym|user|{user_id}".encode(),
                    hashlib.sha256).hexdigest()[:20]


def public_content(record: DecisionRecord) -> dict[str, Any]:
    if record.visibility != Visibility.PUBLIC:
        return {}
    content: dict[str, Any] = {"changes": _integers_only(record.changes or {})}
    if record.reason:
        content["reason"] = record.reason
    return content


def content_sha256(record: DecisionRecord) -> str:
    return hashlib.sha256(canonical_json(public_content(record))).hexdigest()


def _integers_only(value: Any) -> Any:
    """RFC 8785 entries carry integers, never floats: floats become decimal strings."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {k: _integers_only(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integers_only(v) for v in value]
    return value


def _subject(record: DecisionRecord, session: Any) -> dict[str, Any]:
    if record.resource_type in PERSONAL_SUBJECTS and record.resource_id is not None:
        if record.action.startswith(OFFICIAL_KINDS):
            return {"type": "official", "pseudonym": pseudonym(record.organization_id, record.resource_id)}
        salt = secrets.token_hex(16)
        value = f"user:{record.resource_id}"
        commitment = hashlib.sha256(f"{salt}|{value}".encode()).hexdigest()
        session.add(LogOpening(organization_id=record.organization_id, user_id=record.resource_id,
                               commitment=commitment, salt=salt, value=value))
        return {"type": "person", "commitment": commitment}
    return {"type": record.resource_type, "id": record.resource_id}


def build_entry(record: DecisionRecord, session: Any, supersedes_index: int | None = None) -> bytes:
    kind = get_kind(record.action)
    actor = None
    if record.actor_id is not None and record.actor_role == "participant":
        # participants never appear, not even by pseudonym: their acts would become linkable
        actor = {"role": "participant", "pseudonym": None}
    elif record.actor_id is not None:
        actor = {"role": record.actor_role, "pseudonym": pseudonym(record.organization_id, record.actor_id)}
    elif record.actor_role != "system":
        actor = {"role": record.actor_role, "pseudonym": None}
    entry = {
        "kind": kind.name,
        "schema": kind.version,
        "at": record.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "actor": actor,
        "subject": _subject(record, session),
        "space": {"type": record.space_type, "id": record.space_id} if record.space_type else None,
        "component": record.component_id,
        "content_sha256": content_sha256(record),
        "visibility": str(record.visibility),
        "supersedes": supersedes_index,
    }
    data = canonical_json(entry)
    if len(data) > 8 * 1024:
        raise ValueError(f"entry for {record.action} is larger than 8 KiB")
    return data
