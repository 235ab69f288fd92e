"""The decision record: every decision is written here in the transaction that takes it.

`record()` is called once per decision by the service that decides (publishing a process,
activating a phase, granting a role, changing component settings...). The table is append-only:
database triggers refuse UPDATE and DELETE (see the migration). The transparency issue turns this
into the verifiable public log of DESIGN.md §6.
"""

from __future__ import annotations

from .models import DecisionRecord, Visibility
from .service import record, records_for_admin

__all__ = ["DecisionRecord", "Visibility", "record", "records_for_admin"]
