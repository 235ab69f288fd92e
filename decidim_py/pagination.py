"""One page of results, paginated in SQL (shared by every list: processes, proposals, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int
    supported: set[int] = field(default_factory=set)  # e.g. the ids the viewer supports, fetched with the page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def window_page(base: Any, page: int, per_page: int, *extra_columns: Any) -> tuple[list[Any], int, int]:
    """One page of an ordered query in one statement, its total from a window count: (rows, page,
    total), each row the entity followed by `extra_columns`. A page past the end costs two more
    statements (the total, then the last page)."""
    from sqlalchemy import func, select

    from .db import db

    q = base.add_columns(*extra_columns, func.count().over().label("total"))
    page = max(1, page)
    rows = db.session.execute(q.limit(per_page).offset((page - 1) * per_page)).all()
    if not rows and page > 1:
        total = db.session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
        page = max(1, -(-total // per_page))
        rows = db.session.execute(q.limit(per_page).offset((page - 1) * per_page)).all()
    return rows, page, rows[0].total if rows else 0
