"""Similar proposals, shown while a participant drafts one (issue 5, part 2; Decidim's
"similar proposals" step).

Similar = published, not hidden, not withdrawn proposals of the same component whose title is
similar to the draft's title (trigram similarity at least `THRESHOLD`), ranked by the greater of the
title's and the body's similarity, as Decidim does.

- PostgreSQL: pg_trgm's `title % :title` finds the candidates through the GIN trigram index on the
  title (migration 0010); `similarity()` ranks them.
- SQLite (no trigrams): the candidates are the newest titles containing all of the draft title's
  longest words (a stem of each: "trees" also finds "tree"), then, if too few are similar, any of
  them; each pass stops at `CANDIDATES` rows. They are scored here with the same trigram similarity
  as pg_trgm (words padded with two spaces before and one after, lower case, alphanumerics only),
  so both databases agree. A pass reads the table newest first and stops early when the words are
  common; when they are rare it reads every title of the table (tens of milliseconds at 100,000).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import and_, func, or_, select

from decidim_py.components import Component
from decidim_py.db import db

from .models import Proposal

THRESHOLD = 0.3  # pg_trgm's default similarity threshold
CANDIDATES = 200  # at most this many titles are scored (their bodies too)
KEY_WORDS = 3  # SQLite: the draft title's longest words looked for
MIN_WORD = 4
STOPWORDS = frozenset(
    "about also because before could from have into more most only other over some such than that "
    "their them then there these they this those very what when where which while will with would "
    "aquest aquesta aquests amb dels molt més perquè també sobre això "
    "como con para pero porque sobre esta este estos esto todo todos todas muy más".split()
)
_WORD = re.compile(r"[^\W_]+")


def trigrams(value: str) -> set[str]:
    """pg_trgm's trigrams of a text: every word lower-cased, padded "  word ", cut in threes."""
    grams: set[str] = set()
    for word in _WORD.findall((value or "").lower()):
        padded = f"  {word} "
        grams.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return grams


def similarity(a: str | set[str], b: str | set[str]) -> float:
    """pg_trgm's similarity(): shared trigrams over all the trigrams of both texts (or trigram sets)."""
    ta = a if isinstance(a, set) else trigrams(a)
    tb = b if isinstance(b, set) else trigrams(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def key_words(title: str) -> list[str]:
    """The draft title's longest distinct words (not stopwords), as stems to look for."""
    words = {w for w in _WORD.findall((title or "").lower()) if len(w) >= MIN_WORD and w not in STOPWORDS}
    longest = sorted(words, key=lambda w: (-len(w), w))[:KEY_WORDS]
    return [w[:max(MIN_WORD, len(w) - 2)] for w in longest]


def similar_proposals(component: Component, title: str, body: str, limit: int = 5,
                      exclude_id: int | None = None) -> list[Proposal]:
    """Up to `limit` visible proposals of `component` similar to a draft's title and body, most
    similar first."""
    title, body = (title or "").strip(), (body or "").strip()
    if not trigrams(title) or limit <= 0:
        return []
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    # SQLite: "component_id + 0" keeps it from reading all the component's rows through the
    # component index to sort them; it scans newest first and stops at CANDIDATES matches
    conditions = [Proposal.component_id == component.id if postgresql else
                  (Proposal.component_id + 0) == component.id,
                  Proposal.published_at.is_not(None), Proposal.hidden_at.is_(None), Proposal.withdrawn_at.is_(None)]
    if exclude_id is not None:
        conditions.append(Proposal.id != exclude_id)
    if postgresql:
        return _postgresql(conditions, title, body, limit)
    return _portable(conditions, title, body, limit)


def _postgresql(conditions: list[Any], title: str, body: str, limit: int) -> list[Proposal]:
    title_sim = func.similarity(Proposal.title, title)
    candidates = (select(Proposal.id.label("id"), title_sim.label("title_sim"))
                  .where(*conditions, Proposal.title.op("%")(title), title_sim >= THRESHOLD)
                  .order_by(title_sim.desc(), Proposal.id.desc()).limit(CANDIDATES).subquery())
    score = func.greatest(candidates.c.title_sim, func.similarity(Proposal.body, body))
    q = (select(Proposal).join(candidates, candidates.c.id == Proposal.id)
         .order_by(score.desc(), Proposal.id.desc()).limit(limit))
    return list(db.session.scalars(q))


def _portable(conditions: list[Any], title: str, body: str, limit: int) -> list[Proposal]:
    words = key_words(title)
    if not words:
        return []
    wanted = trigrams(title)
    kept: dict[int, float] = {}
    # first the titles holding every key word (an older near-duplicate is not cut off by newer
    # titles sharing one common word), then, if that is not enough, those holding any of them
    for match in ((and_, or_) if len(words) > 1 else (or_,)):
        rows = db.session.execute(  # the key words are letters and digits only: nothing to escape
            select(Proposal.id, Proposal.title)
            .where(*conditions, match(*[Proposal.title.like(f"%{w}%") for w in words]))
            .order_by(Proposal.id.desc()).limit(CANDIDATES)).all()
        kept.update((pid, score) for pid, t in rows if (score := similarity(t, wanted)) >= THRESHOLD)
        if len(kept) >= limit:
            break
    if not kept:
        return []
    proposals = list(db.session.scalars(select(Proposal).where(Proposal.id.in_(kept))))
    if body:
        body_grams = trigrams(body)
        for p in proposals:
            kept[p.id] = max(kept[p.id], similarity(p.body, body_grams))
    proposals.sort(key=lambda p: (-kept[p.id], -p.id))
    return proposals[:limit]


__all__ = ["THRESHOLD", "similar_proposals", "similarity", "trigrams"]
