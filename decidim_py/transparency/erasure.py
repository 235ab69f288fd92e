"""Erasure of personal data in the record: the tree is never touched. Entries that bind a person
hold a salted commitment; deleting its opening (salt and value) makes it meaningless, and a public
`log.redaction` entry says that openings were erased (how many, not whose)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from ..db import db
from .models import LogOpening


def erase_openings(actor: Any, user: Any) -> int:
    from .service import record

    count = int(db.session.scalar(select(func.count()).select_from(LogOpening).where(
        LogOpening.user_id == user.id)) or 0)
    db.session.execute(delete(LogOpening).where(LogOpening.user_id == user.id))
    db.session.flush()
    record(actor, "log.redaction", _Redaction(), organization_id=user.organization_id,
           changes={"openings_erased": count})
    return count


class _Redaction:
    id = None
