"""The system actor: CLI commands and jobs act as it. It may do what an organisation admin may,
and the decision record shows it as `system` (no person)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SystemActor:
    organization_id: int
    id: None = None
    is_admin: bool = True
    is_system: bool = True
    is_authenticated: bool = True
    blocked_at: datetime | None = None
    deleted_at: datetime | None = None
    nickname: str = "system"
