"""User HTML: sanitised with bleach on write. `Markup` appears only in this module."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import bleach
from markupsafe import Markup

ALLOWED_TAGS = [
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h2", "h3", "h4", "i", "li", "ol", "p",
    "pre", "strong", "ul",
]
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"], "abbr": ["title"]}
ALLOWED_PROTOCOLS = ["http", "https", "mailto"]


def sanitize(html: str | None) -> str:
    """Clean user HTML: allowed tags only, safe links, no scripts, styles or event handlers."""
    if not html:
        return ""
    cleaned = bleach.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
    )
    return bleach.linkify(cleaned, callbacks=[bleach.callbacks.nofollow]).strip()


def sanitize_translated(value: dict[str, Any] | None) -> dict[str, str]:
    return {loc: sanitize(text) for loc, text in (value or {}).items() if text}


def safe_html(stored: str | None) -> Markup:
    """Mark HTML that was sanitised on write as safe; re-clean defensively (idempotent)."""
    return Markup(_recleaned(stored or ""))


@lru_cache(maxsize=2048)
def _recleaned(stored: str) -> str:
    """bleach costs ~0.2 ms a text: a page of comments re-cleans the same bodies on every request."""
    return sanitize(stored)
