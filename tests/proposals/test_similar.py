"""Similar proposals while drafting: pg_trgm on PostgreSQL, the portable scoring on SQLite, the same
rules on both (published, visible, not withdrawn, same component; unrelated ones left out)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from decidim_py.db import db, get_engine, utcnow
from decidim_py.testing import backend, login_as, make_admin, make_user
from proposals import services as s
from proposals.models import Proposal
from proposals.similar import CANDIDATES, key_words, similar_proposals, similarity, trigrams
from tests.proposals.conftest import make_component

BODY = "Shade in summer and a nicer walk for everyone in the neighbourhood."


def _published(c, author, title, body=BODY):
    return s.publish_proposal(author, s.create_proposal(author, c, s.ProposalData(title, body)))


def _titles(found):
    return [p.title for p in found]


@pytest.fixture
def seeded(app, org):
    c = make_component(org)
    author = make_user(org)
    trees = _published(c, author, "Plant more trees in the central park")
    park = _published(c, author, "More trees and benches for the park")
    _published(c, author, "Repair the roof of the swimming pool", "The roof leaks when it rains, every winter.")
    _published(c, author, "Longer opening hours for the library", "Open the library on Sunday afternoons too.")
    return c, author, trees, park


def test_similar_ones_found_unrelated_ones_not(seeded):
    c, _author, trees, park = seeded
    found = similar_proposals(c, "Plant trees in the park", "We need shade in summer.")
    assert _titles(found)[:2] == [trees.title, park.title]  # most similar first
    assert all("swimming" not in t and "library" not in t for t in _titles(found))
    assert similar_proposals(c, "Quantum physics lessons for adults", "Evening courses at the school.") == []
    assert similar_proposals(c, "Plant trees in the park", "", limit=1) == [trees]


def test_hidden_withdrawn_drafts_and_other_components_are_left_out(seeded, org):
    c, author, trees, park = seeded
    draft = s.create_proposal(author, c, s.ProposalData("Plant more trees in the central park now", BODY))
    s.withdraw_proposal(author, park)
    s.hide_proposal(make_admin(org), trees, "Spam")
    other = make_component(org, process=c.space)
    _published(other, author, "Plant more trees in the central park")
    found = similar_proposals(c, "Plant trees in the central park", BODY)
    assert found == []
    assert draft.id not in [p.id for p in similar_proposals(other, draft.title, draft.body)]
    assert _titles(similar_proposals(other, draft.title, draft.body)) == ["Plant more trees in the central park"]


def test_the_body_ranks_candidates_and_the_draft_itself_is_excluded(app, org):
    c = make_component(org)
    author = make_user(org)
    a = _published(c, author, "More benches along the river", "Old people need a place to rest.")
    b = _published(c, author, "Benches for the river banks",
                   "Shade in summer and a nicer walk for all of us, young and old people.")
    found = similar_proposals(c, "Benches along the river walk",
                              "Shade in summer and a nicer walk for all of us, young and old.")
    assert [p.id for p in found] == [b.id, a.id]  # a's title is closer, but b's body is nearly the draft's
    assert similar_proposals(c, a.title, a.body, exclude_id=a.id) == [b]


def test_trigram_similarity_is_pg_trgm_s(app, org):
    assert trigrams("Cat") == {"  c", " ca", "cat", "at "}
    assert similarity("word", "two words") == pytest.approx(4 / 11)  # pg_trgm's documented 0.363636
    assert similarity("", "anything") == 0.0
    assert key_words("Plant MORE trees, in the central park!") == ["centr", "plan", "tree"]  # the longest three
    if backend() == "postgresql":
        pairs = [("Plant more trees in the park", "More trees and benches for the park"),
                 ("Arbres al parc", "arbres al parc central"), ("word", "two words"), ("a-b c_d", "A B 42")]
        for a, b in pairs:
            pg = db.session.scalar(text("SELECT similarity(:a, :b)"), {"a": a, "b": b})
            assert similarity(a, b) == pytest.approx(pg, abs=1e-6), (a, b)


def test_the_trigram_index_exists_on_postgresql(app):
    if backend() != "postgresql":
        pytest.skip("the GIN trigram index is PostgreSQL's")
    definition = db.session.scalar(text(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_proposals_proposals_title_trgm'"))
    assert "gin" in definition and "gin_trgm_ops" in definition
    plan = "\n".join(db.session.scalars(text(
        "EXPLAIN SELECT id FROM proposals_proposals WHERE title % 'Plant trees in the park'")))
    assert "ix_proposals_proposals_title_trgm" in plan or "Seq Scan" in plan  # tiny tables may scan


def test_candidates_are_bounded(app, org):
    """Many titles share the draft's words: a fixed number of statements, the candidates capped in
    SQL (LIMIT), and the answer stays right."""
    c = make_component(org)
    author = make_user(org)
    now = utcnow()
    rows = [dict(organization_id=org.id, component_id=c.id, author_id=author.id, title=f"Park cleaning day {i}",
                 body="Volunteers clean the park.", reference=f"R-{i}", published_at=now, edited_at=now,
                 created_at=now, updated_at=now, internal_state="not_answered", supports_count=0,
                 is_official=False, comments_count=0) for i in range(CANDIDATES * 3)]
    db.session.execute(Proposal.__table__.insert(), rows)
    statements: list[tuple[str, object]] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = similar_proposals(c, "Park cleaning day", "Volunteers clean the park.", limit=5)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(found) == 5 and all(p.title.startswith("Park cleaning day") for p in found)
    assert len(statements) == (1 if backend() == "postgresql" else 2)
    candidates = statements[0]
    assert "LIMIT" in candidates[0] and CANDIDATES in _values(candidates[1])


def _values(parameters):
    return list(parameters.values()) if isinstance(parameters, dict) else list(parameters)


def test_the_draft_preview_shows_similar_proposals(app, org, client, commit):
    c = make_component(org)
    author, drafter = make_user(org), make_user(org)
    trees = _published(c, author, "Plant more trees in the central park")
    commit()
    login_as(client, drafter)
    base = f"/processes/{c.space.slug}/proposals/{c.id}"
    created = client.post(f"{base}/new", data={"title": "Plant trees in the central park", "body": BODY})
    assert created.status_code == 303
    preview = client.get(created.headers["Location"])
    assert "Similar proposals" in preview.text
    assert f'href="{base}/{trees.id}"' in preview.text and trees.title in preview.text
    assert preview.text.count("<h1") == 1
    published = client.get(f"{base}/{trees.id}")  # a published page does not show the section
    assert "Similar proposals" not in published.text
