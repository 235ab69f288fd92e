"""Log signing key rotation: a new key generation starts signing next to the old one (a
dual-signed overlap, announced by a `log.key_rotated` entry signed by both); ending the overlap
retires the old generation. Verifiers that know either key keep verifying across the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..db import db, utcnow
from ..errors import InvalidState
from .log import active_keys, signer
from .models import LogKey


def start_rotation(org: Any, actor: Any = None) -> LogKey:
    from .service import record

    current = active_keys(db.session, org)
    if len(current) > 1:
        raise InvalidState("a rotation is already in progress: end it with --retire-old first")
    generation = int(db.session.scalar(select(func.max(LogKey.generation)).where(
        LogKey.organization_id == org.id)) or 0) + 1
    vkey = signer(org, generation).verifier().key_string()
    key = LogKey(organization_id=org.id, generation=generation, verifier_key=vkey)
    db.session.add(key)
    db.session.flush()
    record(actor, "log.key_rotated", key, organization_id=org.id,
           changes={"from": current[0].verifier_key, "to": key.verifier_key, "phase": "overlap"})
    return key


def finish_rotation(org: Any) -> LogKey:
    keys = active_keys(db.session, org)
    if len(keys) < 2:
        raise InvalidState("no rotation in progress")
    for old in keys[:-1]:
        old.retired_at = utcnow()
    db.session.flush()
    return keys[-1]
