"""The decision record and its verifiable public log (DESIGN.md §6).

`record()` is called once per decision by the service that decides, in the decision's
transaction; it writes the decision (append-only table) and its public entry in the outbox, which
the integrator turns into a signed, verifiable log. The pure modules (merkle, tiles, note,
canonical, verifier) need no Flask nor database, so imports here are lazy.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DecisionRecord", "Visibility", "record", "records_for_admin"]


def __getattr__(name: str) -> Any:
    if name in ("DecisionRecord", "Visibility"):
        from . import models

        return getattr(models, name)
    if name in ("record", "records_for_admin"):
        from . import service

        return getattr(service, name)
    raise AttributeError(name)
