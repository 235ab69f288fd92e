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
